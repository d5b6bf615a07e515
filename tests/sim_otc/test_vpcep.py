"""Services, endpoints, connections, whitelist, public services and quotas of the OTC flavour
through otcextensions' vpcep proxy (`conn.vpcep`), and the operations OTC lacks."""

import json

import pytest

from otc_helpers import (
    ALICE,
    BOB,
    REGION,
    api_error,
    available_service,
    create_endpoint,
    create_service,
    endpoint_in,
    gone,
    new_id,
    wait_until,
)


def test_service_round_trip(alice):
    created = create_service(alice, ports=((8080, 90), (8081, 80)))
    assert created.status == "creating"
    assert created.service_name == f"{REGION}.web.{created.id}"
    assert created.project_id == ALICE.project_id
    assert [(p.client_port, p.server_port, p.protocol) for p in created.ports] == [(8080, 90, "TCP"), (8081, 80, "TCP")]
    wait_until(lambda: alice.vpcep.get_service(created.id).status == "available", what="available")
    assert [s.id for s in alice.vpcep.services()] == [created.id]
    assert alice.vpcep.find_service(created.service_name).id == created.id

    updated = alice.vpcep.update_service(created.id, is_approval_enabled=True)
    assert updated.is_approval_enabled is True
    assert alice.vpcep.get_service(created.id).is_approval_enabled is True

    alice.vpcep.delete_service(created.id)
    wait_until(lambda: gone(lambda: alice.vpcep.get_service(created.id)), what="service gone")


def test_endpoint_round_trip(alice):
    service = available_service(alice)
    subnet = new_id()
    created = create_endpoint(alice, service.id, network_id=subnet, is_dns_enabled=True)
    assert created.endpoint_service_id == service.id
    assert created.network_id == subnet
    accepted = endpoint_in(alice, created.id, "accepted")
    assert accepted.ip
    assert accepted.service_type == "interface"
    assert [e.id for e in alice.vpcep.endpoints()] == [created.id]
    assert [e.id for e in alice.vpcep.endpoints(endpoint_service_id=service.id)] == [created.id]

    status, code = api_error(lambda: alice.vpcep.delete_service(service.id))
    assert (status, code) == (400, "EndPoint.3006"), "a service with endpoints is not deleted"
    alice.vpcep.delete_endpoint(created.id)
    wait_until(lambda: gone(lambda: alice.vpcep.get_endpoint(created.id)), what="endpoint gone")


def test_connections_accept_and_reject(alice):
    service = available_service(alice, approval=True)
    one = create_endpoint(alice, service.id)
    two = create_endpoint(alice, service.id)
    endpoint_in(alice, one.id, "pendingAcceptance")
    endpoint_in(alice, two.id, "pendingAcceptance")
    pending = list(alice.vpcep.service_connections(service.id, status="pendingAcceptance"))
    assert {c.id for c in pending} == {one.id, two.id}
    assert all(c.domain_id == ALICE.domain_id for c in pending)

    accepted = alice.vpcep.manage_service_connections(service.id, "accept", [one.id])
    assert [(c.id, c.status) for c in accepted] == [(one.id, "accepted")]
    rejected = alice.vpcep.manage_service_connections(service.id, "reject", [two.id])
    assert [(c.id, c.status) for c in rejected] == [(two.id, "rejected")]
    assert endpoint_in(alice, one.id, "accepted").ip
    assert alice.vpcep.get_endpoint(two.id).status == "rejected"
    statuses = {c.id: c.status for c in alice.vpcep.service_connections(service.id)}
    assert statuses == {one.id: "accepted", two.id: "rejected"}


def test_whitelist_opens_the_service_to_another_account(alice, bob):
    service = available_service(alice)
    assert api_error(lambda: create_endpoint(bob, service.id)) == (400, "EndPoint.2012")

    # The SDK prefixes a bare domain id with `iam:domain::`.
    added = list(alice.vpcep.manage_service_whitelist(service.id, "add", [BOB.domain_id]))
    assert [w.permission for w in added] == [f"iam:domain::{BOB.domain_id}"]
    assert [w.permission for w in alice.vpcep.service_whitelist(service.id)] == [f"iam:domain::{BOB.domain_id}"]
    endpoint = create_endpoint(bob, service.id)
    assert endpoint_in(bob, endpoint.id, "accepted").project_id == BOB.project_id
    assert [c.domain_id for c in alice.vpcep.service_connections(service.id)] == [BOB.domain_id]

    list(alice.vpcep.manage_service_whitelist(service.id, "remove", [BOB.domain_id]))
    assert list(alice.vpcep.service_whitelist(service.id)) == []
    assert api_error(lambda: create_endpoint(bob, service.id)) == (400, "EndPoint.2012")


def test_public_services_and_a_gateway_endpoint_to_obs(bob):
    public = {s.service_name: s for s in bob.vpcep.public_services()}
    obs_name = f"com.t-systems.otc.{REGION}.obs"
    assert public[obs_name].service_type == "gateway"
    assert public[f"com.t-systems.otc.{REGION}.dns"].service_type == "interface"
    obs = bob.vpcep.get_target_service(obs_name)
    assert (obs.id, obs.service_type) == (public[obs_name].id, "gateway")

    created = bob.vpcep.create_endpoint(endpoint_service_id=obs.id, router_id=new_id())
    assert created.service_type == "gateway"
    assert len(created.route_tables) == 1
    assert endpoint_in(bob, created.id, "accepted").ip is None


def test_quotas(alice):
    quotas = {(q.type, q.used, q.quota) for q in alice.vpcep.resource_quota()}
    assert quotas == {("endpoint_service", 0, 5), ("endpoint", 0, 5)}
    service = available_service(alice)
    create_endpoint(alice, service.id)
    assert [(q.type, q.used) for q in alice.vpcep.resource_quota(type="endpoint_service")] == [("endpoint_service", 1)]
    assert [(q.type, q.used) for q in alice.vpcep.resource_quota(type="endpoint")] == [("endpoint", 1)]
    for port in range(4):
        create_service(alice, ports=((port + 1, port + 1),))
    status, code = api_error(lambda: create_service(alice, ports=((99, 99),)))
    assert (status, code.lower()) == (400, "endpoint.1018")


# The Huawei-only operations (crates/sim/src/flavour.rs): (counter name, method, path under the
# project with {service} and {endpoint} to fill in, body).
HUAWEI_ONLY = [
    ("update_endpoint_whitelist", "PUT", "/vpc-endpoints/{endpoint}",
     {"whitelist": ["192.168.0.0/16"], "enable_whitelist": True}),
    ("update_endpoint_policy", "PUT", "/vpc-endpoints/{endpoint}/policy", {"policy_statement": []}),
    ("delete_endpoint_policy", "DELETE", "/vpc-endpoints/{endpoint}/policy", None),
    ("update_endpoint_routetables", "PUT", "/vpc-endpoints/{endpoint}/routetables", {"routetables": []}),
    ("update_service_name", "PUT", "/vpc-endpoint-services/{service}/name", {"endpoint_service_name": "other"}),
    ("update_connection_descriptions", "PUT", "/vpc-endpoint-services/{service}/connections/description",
     {"connections": [{"id": "{endpoint}", "description": "team a"}]}),
    ("batch_create_permissions", "POST", "/vpc-endpoint-services/{service}/permissions/batch-create",
     {"permissions": [{"permission": "*"}], "permission_type": "domainId"}),
    ("batch_delete_permissions", "POST", "/vpc-endpoint-services/{service}/permissions/batch-delete",
     {"permissions": [{"id": "{service}"}]}),
    ("update_permission_description", "PUT", "/vpc-endpoint-services/{service}/permissions/{service}",
     {"permission": {"description": "x"}}),
]


@pytest.mark.parametrize("operation,method,path,body", HUAWEI_ONLY, ids=[op[0] for op in HUAWEI_ONLY])
def test_huawei_only_operations_are_unknown_paths(sim, alice, operation, method, path, body):
    service = available_service(alice)
    endpoint = create_endpoint(alice, service.id, whitelist=["10.0.0.0/8"], is_whitelist_enabled=True)

    def fill(text):
        return text.replace("{service}", service.id).replace("{endpoint}", endpoint.id)

    if body is not None:
        body = json.loads(fill(json.dumps(body)))
    # otcextensions has none of these calls (OTC documents none): they go through the proxy's
    # authenticated session, as a user trying Huawei's API on OTC would send them.
    r = alice.vpcep.request(fill(path), method, json=body, raise_exc=False)
    assert r.status_code == 404, r.text
    assert r.json()["error_code"] == "APIG.0101"
    assert sim.counters()[operation] == 1
    assert alice.vpcep.get_endpoint(endpoint.id).whitelist == ["10.0.0.0/8"]
    assert alice.vpcep.get_service(service.id).service_name == f"{REGION}.web.{service.id}"
