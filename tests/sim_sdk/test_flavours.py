"""One test per row of the flavour table (docs/simulator.md, "Flavours"): each cloud's limits,
enums, defaults, operations and public services. The Huawei flavour is `sim`, the OTC flavour
`otc_sim`; both are driven through the Huawei SDK."""

import pytest
from huaweicloudsdkvpcep.v1 import (
    AddOrRemoveServicePermissionsRequest,
    AddOrRemoveServicePermissionsRequestBody,
    BatchAddOrRemoveResourceInstanceRequest,
    BatchAddOrRemoveResourceInstanceRequestBody,
    CreateEndpointServiceRequest,
    CreateEndpointServiceRequestBody,
    ListEndpointServiceRequest,
    ListQuotaDetailsRequest,
    ListServicePublicDetailsRequest,
    PortList,
    ResourceTag,
    TagList,
    UpdateEndpointServiceNameRequest,
    UpdateEndpointServiceNameRequestBody,
    UpdateEndpointServiceRequest,
    UpdateEndpointServiceRequestBody,
    UpdateEndpointWhiteRequest,
    UpdateEndpointWhiteRequestBody,
)

from helpers import (
    ALICE,
    REGION,
    Sim,
    api_error,
    available_service,
    client_for,
    create_endpoint,
    create_service,
    endpoint_in,
    new_id,
)


def tag(client, service_id, **tags):
    body = BatchAddOrRemoveResourceInstanceRequestBody(
        action="create", tags=[ResourceTag(key=k, value=v) for k, v in tags.items()]
    )
    return client.batch_add_or_remove_resource_instance(
        BatchAddOrRemoveResourceInstanceRequest(resource_type="endpoint_service", resource_id=service_id, body=body)
    )


def code(call):
    return api_error(call).error_code


def test_otc_answers_huawei_only_operations_as_unknown_paths(otc, otc_sim):
    service = available_service(otc)
    endpoint = create_endpoint(otc, service.id)
    calls = [
        lambda: otc.update_endpoint_white(
            UpdateEndpointWhiteRequest(vpc_endpoint_id=endpoint.id, body=UpdateEndpointWhiteRequestBody(whitelist=[]))
        ),
        lambda: otc.update_endpoint_service_name(
            UpdateEndpointServiceNameRequest(
                vpc_endpoint_service_id=service.id,
                body=UpdateEndpointServiceNameRequestBody(endpoint_service_name="renamed"),
            )
        ),
    ]
    for call in calls:
        err = api_error(call)
        assert (err.status_code, err.error_code) == (404, "APIG.0101")
    counters = otc_sim.counters()
    assert counters["update_endpoint_whitelist"] == 1
    assert counters["update_service_name"] == 1
    # Exactly these, and not the served calls, are what the flavour lacks.
    unsupported = otc_sim.control("GET", "/counters/unsupported")
    assert unsupported == {"update_endpoint_whitelist": 1, "update_service_name": 1}


def test_huawei_lacks_nothing(alice, sim):
    service = available_service(alice)
    endpoint = create_endpoint(alice, service.id)
    alice.update_endpoint_white(
        UpdateEndpointWhiteRequest(vpc_endpoint_id=endpoint.id, body=UpdateEndpointWhiteRequestBody(whitelist=[]))
    )
    assert sim.control("GET", "/counters/unsupported") == {}


def test_tags_per_resource(flavour_client):
    service = create_service(flavour_client)
    tag(flavour_client, service.id, **{f"k{i}": "v" for i in range(10)})
    assert code(lambda: tag(flavour_client, service.id, extra="v")) == "EndPoint.3069"
    many = [TagList(key=f"k{i}", value="v") for i in range(11)]
    assert code(lambda: create_service(flavour_client, ports=((5, 5),), tags=many)) == "EndPoint.3069"


def test_tag_lengths_and_charset_otc(otc):
    service = create_service(otc)
    tag(otc, service.id, **{"k" * 36: "v" * 43, "a-b_c@d": "x"})
    assert code(lambda: tag(otc, service.id, **{"k" * 37: "v"})) == "EndPoint.3072"
    assert code(lambda: tag(otc, service.id, key="v" * 44)) == "EndPoint.3073"
    assert code(lambda: tag(otc, service.id, **{"a.b": "v"})) == "EndPoint.3068"


def test_tag_lengths_and_charset_huawei(alice):
    service = create_service(alice)
    tag(alice, service.id, **{"k" * 128: "v" * 255, "a.b:c=d+e f": "x"})
    assert code(lambda: tag(alice, service.id, **{"k" * 129: "v"})) == "EndPoint.3072"
    assert code(lambda: tag(alice, service.id, key="v" * 256)) == "EndPoint.3073"
    assert code(lambda: tag(alice, service.id, **{"a/b": "v"})) == "EndPoint.3068"


def test_description_length(flavour_client):
    create_service(flavour_client, description="d" * 128)
    assert code(lambda: create_service(flavour_client, ports=((5, 5),), description="d" * 129)) == "EndPoint.0002"


def create_raw(client, server_type="VM", protocol="TCP"):
    """A service body with a free choice of the enums that `helpers.create_service` fixes."""
    body = CreateEndpointServiceRequestBody(
        port_id=new_id(),
        vpc_id=new_id(),
        server_type=server_type,
        ports=[PortList(client_port=53, server_port=53, protocol=protocol)],
    )
    return client.create_endpoint_service(CreateEndpointServiceRequest(body=body))


def test_port_mapping_protocol_is_tcp_only(flavour_client):
    assert create_raw(flavour_client).ports[0].protocol == "TCP"
    assert code(lambda: create_raw(flavour_client, protocol="UDP")) == "EndPoint.3075"


@pytest.mark.parametrize("server_type, accepted", [("VM", True), ("LB", True), ("VIP", True), ("BMS", False)])
def test_server_types(flavour_client, server_type, accepted):
    call = lambda: create_raw(flavour_client, server_type=server_type)  # noqa: E731
    if accepted:
        assert call().server_type == server_type
    else:
        assert code(call) == "EndPoint.3021"


@pytest.mark.parametrize("value, accepted", [("close", True), ("toa_open", True), ("proxy_open", True), ("open", True), ("proxy_vni", False)])
def test_tcp_proxy(flavour_client, value, accepted):
    call = lambda: create_service(flavour_client, tcp_proxy=value)  # noqa: E731
    if accepted:
        assert call().tcp_proxy == value
    else:
        assert code(call) == "EndPoint.0002"


def test_endpoint_whitelist_entries(flavour_client):
    service = available_service(flavour_client)
    ok = create_endpoint(flavour_client, service.id, whitelist=[f"10.0.0.{i}" for i in range(20)])
    assert len(ok.whitelist) == 20
    too_many = [f"10.0.1.{i}" for i in range(21)]
    assert code(lambda: create_endpoint(flavour_client, service.id, whitelist=too_many)) == "EndPoint.2045"


def permissions(client, service_id, permission_type, *values):
    body = AddOrRemoveServicePermissionsRequestBody(permissions=list(values), action="add", permission_type=permission_type)
    return client.add_or_remove_service_permissions(
        AddOrRemoveServicePermissionsRequest(vpc_endpoint_service_id=service_id, body=body)
    )


def test_permission_types(alice, otc):
    for client in (alice, otc):
        service = create_service(client)
        assert permissions(client, service.id, "domainId", "iam:domain::abc").permissions == ["iam:domain::abc"]
    org = "organizations:orgPath::o-1/r-2"
    huawei_service = create_service(alice, ports=((7, 7),))
    assert permissions(alice, huawei_service.id, "orgPath", org).permissions == [org]
    otc_service = create_service(otc, ports=((7, 7),))
    assert code(lambda: permissions(otc, otc_service.id, "orgPath", org)) == "EndPoint.0002"


@pytest.mark.parametrize("cloud", ["huawei", "otc"])
def test_default_quotas(cloud):
    sim = Sim(cloud=cloud, small_quotas=False, log_name=f"vpcep-sim-quotas-{cloud}.log")
    try:
        quotas = client_for(sim, ALICE).list_quota_details(ListQuotaDetailsRequest()).quotas.resources
        assert {(q.type, q.quota) for q in quotas} == {("endpoint_service", 20), ("endpoint", 50)}
    finally:
        sim.stop()


def public_services(client):
    listed = client.list_service_public_details(ListServicePublicDetailsRequest(limit=100)).endpoint_services
    return [(s.service_name, s.service_type, s.owner) for s in listed]


def test_public_services_otc_eu_de(otc):
    assert sorted(public_services(otc)) == sorted([
        (f"com.t-systems.otc.{REGION}.obs", "gateway", "OTC"),
        (f"com.t-systems.otc.{REGION}.dns", "interface", "OTC"),
        (f"com.t-systems.otc.{REGION}.apig", "interface", "OTC"),
    ])


def test_public_services_otc_eu_nl():
    sim = Sim(cloud="otc", region="eu-nl", log_name="vpcep-sim-otc-eu-nl.log")
    try:
        assert sorted(public_services(client_for(sim, ALICE))) == sorted([
            ("com.t-systems.otc.eu-nl.obs", "gateway", "OTC"),
            ("com.t-systems.otc.eu-nl.obs-internet", "gateway", "OTC"),
            ("com.t-systems.otc.eu-nl.dns", "interface", "OTC"),
        ])
    finally:
        sim.stop()


def test_public_services_huawei(alice):
    assert public_services(alice) == [(f"com.myhuaweicloud.{REGION}.obs", "gateway", "Huawei Cloud")]


def test_port_mappings_are_updatable_through_put(flavour_client):
    service = available_service(flavour_client)
    body = UpdateEndpointServiceRequestBody(ports=[PortList(client_port=9000, server_port=9001, protocol="TCP")])
    updated = flavour_client.update_endpoint_service(UpdateEndpointServiceRequest(vpc_endpoint_service_id=service.id, body=body))
    assert [(p.client_port, p.server_port) for p in updated.ports] == [(9000, 9001)]
    listed = flavour_client.list_endpoint_service(ListEndpointServiceRequest(id=service.id)).endpoint_services
    assert [(p.client_port, p.server_port) for p in listed[0].ports] == [(9000, 9001)]


def test_dualstack_endpoints_are_huawei_only(alice, otc):
    service = available_service(alice)
    dual = create_endpoint(alice, service.id, ip_version="dualstack")
    accepted = endpoint_in(alice, dual.id, "accepted")
    assert accepted.ipv6_address and accepted.ipv6_address.startswith("fd00:")
    fixed = create_endpoint(alice, service.id, ip_version="dualstack", ipv6_address="fd00::77")
    assert endpoint_in(alice, fixed.id, "accepted").ipv6_address == "fd00::77"
    taken = lambda: create_endpoint(alice, service.id, ip_version="dualstack", ipv6_address="fd00::77")  # noqa: E731
    assert code(taken) == "EndPoint.2042"
    plain = create_endpoint(alice, service.id)
    assert endpoint_in(alice, plain.id, "accepted").ipv6_address is None
    otc_service = available_service(otc)
    assert code(lambda: create_endpoint(otc, otc_service.id, ip_version="dualstack")) == "EndPoint.0002"
