"""Endpoints, the approval flow, permissions across accounts and in-use deletes, via the SDK."""

import ipaddress

from huaweicloudsdkvpcep.v1 import (
    AcceptOrRejectEndpointRequest,
    AcceptOrRejectEndpointRequestBody,
    AddOrRemoveServicePermissionsRequest,
    AddOrRemoveServicePermissionsRequestBody,
    BatchAddEndpointServicePermissionsRequest,
    BatchAddEndpointServicePermissionsRequestBody,
    BatchRemoveEndpointServicePermissionsRequest,
    BatchRemoveEndpointServicePermissionsRequestBody,
    CreateEndpointRequest,
    CreateEndpointRequestBody,
    DeleteEndpointRequest,
    DeleteEndpointServiceRequest,
    ConnectionsDesc,
    EpsAddPermissionRequest,
    EpsRemovePermissionRequest,
    EpsUpdatePermissionDesc,
    ListEndpointServiceRequest,
    ListEndpointsRequest,
    ListServiceConnectionsRequest,
    ListServiceDescribeDetailsRequest,
    ListServiceDetailsRequest,
    ListServicePermissionsDetailsRequest,
    PolicyStatement,
    UpdateEndpointConnectionsDescRequest,
    UpdateEndpointConnectionsDescRequestBody,
    UpdateEndpointPolicyRequest,
    UpdateEndpointPolicyRequestBody,
    UpdateEndpointRoutetableRequest,
    UpdateEndpointRoutetableRequestBody,
    UpdateEndpointServicePermissionDescRequest,
    UpdateEndpointServicePermissionDescRequestBody,
    UpdateEndpointWhiteRequest,
    UpdateEndpointWhiteRequestBody,
)

from helpers import (
    ALICE,
    BOB,
    REGION,
    api_error,
    available_service,
    create_endpoint,
    endpoint_in,
    get_endpoint,
    gone,
    new_id,
    wait_until,
)


def connections(client, service_id, **filters):
    return client.list_service_connections(ListServiceConnectionsRequest(vpc_endpoint_service_id=service_id, **filters))


def act(client, service_id, action, *endpoint_ids):
    body = AcceptOrRejectEndpointRequestBody(action=action, endpoints=list(endpoint_ids))
    return client.accept_or_reject_endpoint(AcceptOrRejectEndpointRequest(vpc_endpoint_service_id=service_id, body=body))


def permit(client, service_id, action, *permissions):
    body = AddOrRemoveServicePermissionsRequestBody(permissions=list(permissions), action=action)
    return client.add_or_remove_service_permissions(
        AddOrRemoveServicePermissionsRequest(vpc_endpoint_service_id=service_id, body=body)
    )


def test_endpoint_with_dns_becomes_accepted(alice):
    service = available_service(alice)
    created = create_endpoint(alice, service.id, enable_dns=True, description="consumer")
    assert created.status == "creating"
    assert created.endpoint_service_id == service.id
    assert created.endpoint_service_name == service.service_name
    assert created.ip is None, "no address before the connection is accepted"
    assert created.marker_id > 2**31
    assert created.enable_dns is True
    accepted = endpoint_in(alice, created.id, "accepted")
    assert ipaddress.ip_address(accepted.ip).is_private
    assert accepted.dns_names == [f"{created.id}.web.vpcep.{REGION}.svc.local"]
    assert accepted.active_status == ["active"]
    assert accepted.whitelist == []
    assert accepted.description == "consumer"
    # The SDK models connection_count on list items only.
    listed_service = alice.list_endpoint_service(ListEndpointServiceRequest(id=service.id)).endpoint_services[0]
    assert listed_service.connection_count == 1
    listed = alice.list_endpoints(ListEndpointsRequest(endpoint_service_name="web"))
    assert [e.id for e in listed.endpoints] == [created.id]
    assert listed.total_count == 1
    assert alice.list_endpoints(ListEndpointsRequest(vpc_id=new_id())).total_count == 0


def test_port_ip_and_subnet_rules(alice):
    service = available_service(alice)
    subnet = new_id()
    first = endpoint_in(alice, create_endpoint(alice, service.id, subnet_id=subnet).id, "accepted")
    network = ipaddress.ip_network(f"{first.ip}/24", strict=False)
    wanted = str(network.network_address + 77)
    second = create_endpoint(alice, service.id, subnet_id=subnet, port_ip=wanted)
    assert endpoint_in(alice, second.id, "accepted").ip == wanted
    err = api_error(lambda: create_endpoint(alice, service.id, subnet_id=subnet, port_ip=wanted))
    assert err.error_code == "EndPoint.2042"
    err = api_error(lambda: create_endpoint(alice, service.id, subnet_id=subnet, port_ip="192.0.2.1"))
    assert err.error_code == "EndPoint.2043"
    err = api_error(lambda: alice.create_endpoint(CreateEndpointRequest(body=CreateEndpointRequestBody(endpoint_service_id=service.id, vpc_id=new_id()))))
    assert err.error_code == "EndPoint.2010"
    err = api_error(lambda: create_endpoint(alice, new_id()))
    assert err.error_code == "EndPoint.2003"


def test_approval_accept_and_reject(alice):
    service = available_service(alice, approval_enabled=True)
    one = create_endpoint(alice, service.id)
    two = create_endpoint(alice, service.id)
    endpoint_in(alice, one.id, "pendingAcceptance")
    endpoint_in(alice, two.id, "pendingAcceptance")
    assert get_endpoint(alice, one.id).ip is None
    pending = connections(alice, service.id, status="pendingAcceptance")
    assert {c.id for c in pending.connections} == {one.id, two.id}
    assert pending.total_count == 2
    assert all(c.domain_id == ALICE.domain_id for c in pending.connections)

    err = api_error(lambda: act(alice, service.id, "receive", one.id, two.id))
    assert (err.status_code, err.error_code) == (400, "EndPoint.2031")

    accepted = act(alice, service.id, "receive", one.id)
    assert [(c.id, c.status) for c in accepted.connections] == [(one.id, "accepted")]
    rejected = act(alice, service.id, "reject", two.id)
    assert rejected.connections[0].status == "rejected"
    assert get_endpoint(alice, one.id).ip is not None
    assert get_endpoint(alice, two.id).status == "rejected"
    marker = get_endpoint(alice, one.id).marker_id
    assert [c.id for c in connections(alice, service.id, marker_id=marker).connections] == [one.id]

    described = alice.update_endpoint_connections_desc(
        UpdateEndpointConnectionsDescRequest(
            vpc_endpoint_service_id=service.id,
            body=UpdateEndpointConnectionsDescRequestBody(connections=[ConnectionsDesc(id=one.id, description="team a")]),
        )
    )
    assert [(c.id, c.description) for c in described.connections] == [(one.id, "team a")]
    assert connections(alice, service.id, id=one.id).connections[0].description == "team a"

    other = available_service(alice, service_name="other")
    err = api_error(lambda: act(alice, other.id, "receive", one.id))
    assert err.error_code.lower() == "endpoint.2013"
    err = api_error(lambda: act(alice, service.id, "approve", one.id))
    assert err.error_code == "EndPoint.2027"


def test_permissions_and_cross_account_endpoints(alice, bob):
    service = available_service(alice)
    err = api_error(lambda: create_endpoint(bob, service.id))
    assert (err.status_code, err.error_code) == (400, "EndPoint.2012")

    added = permit(alice, service.id, "add", f"iam:domain::{BOB.domain_id}")
    assert added.permissions == [f"iam:domain::{BOB.domain_id}"]
    listed = alice.list_service_permissions_details(ListServicePermissionsDetailsRequest(vpc_endpoint_service_id=service.id))
    assert listed.total_count == 1
    assert listed.permissions[0].permission == f"iam:domain::{BOB.domain_id}"
    assert listed.permissions[0].permission_type == "domainId"

    endpoint = create_endpoint(bob, service.id)
    connected = endpoint_in(bob, endpoint.id, "accepted")
    assert connected.project_id == BOB.project_id
    assert connections(alice, service.id).connections[0].domain_id == BOB.domain_id
    # The provider cannot read the consumer's endpoint directly.
    assert api_error(lambda: get_endpoint(alice, endpoint.id)).error_code == "EndPoint.2006"

    permit(alice, service.id, "remove", f"iam:domain::{BOB.domain_id}")
    assert alice.list_service_permissions_details(ListServicePermissionsDetailsRequest(vpc_endpoint_service_id=service.id)).total_count == 0
    assert api_error(lambda: create_endpoint(bob, service.id)).error_code == "EndPoint.2012"
    permit(alice, service.id, "add", "*")
    endpoint_in(bob, create_endpoint(bob, service.id).id, "accepted")

    err = api_error(lambda: permit(alice, service.id, "add", "domain::nope"))
    assert err.error_code == "EndPoint.3002"
    err = api_error(lambda: permit(alice, service.id, "grant", "*"))
    assert err.error_code == "EndPoint.3035"


def test_permission_batch_calls(alice):
    service = available_service(alice)
    body = BatchAddEndpointServicePermissionsRequestBody(
        permissions=[EpsAddPermissionRequest(permission=f"iam:domain::{BOB.domain_id}", description="bob")],
        permission_type="domainId",
    )
    created = alice.batch_add_endpoint_service_permissions(
        BatchAddEndpointServicePermissionsRequest(vpc_endpoint_service_id=service.id, body=body)
    )
    record = created.permissions[0]
    assert record.description == "bob"
    described = alice.update_endpoint_service_permission_desc(
        UpdateEndpointServicePermissionDescRequest(
            vpc_endpoint_service_id=service.id,
            permission_id=record.id,
            body=UpdateEndpointServicePermissionDescRequestBody(permission=EpsUpdatePermissionDesc(description="robert")),
        )
    )
    assert described.permissions[0].description == "robert"
    removed = alice.batch_remove_endpoint_service_permissions(
        BatchRemoveEndpointServicePermissionsRequest(
            vpc_endpoint_service_id=service.id,
            body=BatchRemoveEndpointServicePermissionsRequestBody(permissions=[EpsRemovePermissionRequest(id=record.id)]),
        )
    )
    assert removed.permissions[0].id == record.id


def test_refused_delete_of_an_in_use_service_then_deletes_until_404(alice):
    service = available_service(alice)
    endpoint = create_endpoint(alice, service.id)
    err = api_error(lambda: alice.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=service.id)))
    assert (err.status_code, err.error_code) == (400, "EndPoint.3006")
    endpoint_in(alice, endpoint.id, "accepted")
    alice.delete_endpoint(DeleteEndpointRequest(vpc_endpoint_id=endpoint.id))
    assert get_endpoint(alice, endpoint.id).status == "deleting"
    err = wait_until(lambda: gone(lambda: get_endpoint(alice, endpoint.id)), what="endpoint gone")
    assert err.error_code == "EndPoint.2006"
    alice.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=service.id))
    wait_until(
        lambda: gone(lambda: alice.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=service.id))),
        what="service gone",
    )


def test_whitelist_update(alice):
    service = available_service(alice)
    endpoint = create_endpoint(alice, service.id, whitelist=["10.0.0.0/8"], enable_whitelist=True)
    assert endpoint.whitelist == ["10.0.0.0/8"]
    body = UpdateEndpointWhiteRequestBody(whitelist=["192.168.1.1", "172.16.0.0/12"], enable_whitelist=True)
    updated = alice.update_endpoint_white(UpdateEndpointWhiteRequest(vpc_endpoint_id=endpoint.id, body=body))
    assert updated.whitelist == ["192.168.1.1", "172.16.0.0/12"]
    assert updated.enable_whitelist is True
    cleared = alice.update_endpoint_white(
        UpdateEndpointWhiteRequest(vpc_endpoint_id=endpoint.id, body=UpdateEndpointWhiteRequestBody(whitelist=[], enable_whitelist=False))
    )
    assert cleared.whitelist == []
    bad = UpdateEndpointWhiteRequestBody(whitelist=["300.1.1.1"])
    err = api_error(lambda: alice.update_endpoint_white(UpdateEndpointWhiteRequest(vpc_endpoint_id=endpoint.id, body=bad)))
    assert err.error_code == "EndPoint.2044"
    many = UpdateEndpointWhiteRequestBody(whitelist=[f"10.0.0.{i}" for i in range(21)])
    err = api_error(lambda: alice.update_endpoint_white(UpdateEndpointWhiteRequest(vpc_endpoint_id=endpoint.id, body=many)))
    assert err.error_code == "EndPoint.2045"


def test_gateway_endpoint_to_public_obs(bob):
    obs = bob.list_service_describe_details(
        ListServiceDescribeDetailsRequest(endpoint_service_name=f"com.myhuaweicloud.{REGION}.obs")
    )
    assert obs.service_type == "gateway"
    created = bob.create_endpoint(CreateEndpointRequest(body=CreateEndpointRequestBody(endpoint_service_id=obs.id, vpc_id=new_id())))
    assert created.service_type == "gateway"
    assert len(created.routetables) == 1
    assert created.policy_statement[0].effect == "Allow"
    accepted = endpoint_in(bob, created.id, "accepted")
    assert accepted.ip is None
    assert not accepted.dns_names
    policy = [PolicyStatement(effect="Deny", action=["obs:*:*"], resource=["obs:*:*:*:*"])]
    updated = bob.update_endpoint_policy(
        UpdateEndpointPolicyRequest(vpc_endpoint_id=created.id, body=UpdateEndpointPolicyRequestBody(policy_statement=policy))
    )
    assert updated.policy_statement[0].effect == "Deny"
    tables = [new_id(), new_id()]
    routed = bob.update_endpoint_routetable(
        UpdateEndpointRoutetableRequest(vpc_endpoint_id=created.id, body=UpdateEndpointRoutetableRequestBody(routetables=tables))
    )
    assert routed.routetables == tables
