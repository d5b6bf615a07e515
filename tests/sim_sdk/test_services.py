"""Endpoint services through the official SDK: create, read, list, update, describe, delete."""

from huaweicloudsdkvpcep.v1 import (
    DeleteEndpointServiceRequest,
    ListEndpointServiceRequest,
    ListServiceDescribeDetailsRequest,
    ListServiceDetailsRequest,
    ListServicePublicDetailsRequest,
    ListVersionDetailsRequest,
    PortList,
    UpdateEndpointServiceNameRequest,
    UpdateEndpointServiceNameRequestBody,
    UpdateEndpointServiceRequest,
    UpdateEndpointServiceRequestBody,
)

from helpers import ALICE, REGION, api_error, available_service, create_service, gone, service_status, wait_until


def test_versions(alice):
    versions = alice.list_version_details(ListVersionDetailsRequest()).versions
    assert versions[0].id == "v1"
    assert versions[0].status == "CURRENT"


def test_create_returns_the_documented_service(alice):
    created = create_service(alice)
    assert created.status == "creating"
    assert created.service_name == f"{REGION}.web.{created.id}"
    assert created.server_type == "VM"
    assert created.service_type == "interface"
    assert created.approval_enabled is False
    assert created.tcp_proxy == "close"
    assert created.project_id == ALICE.project_id
    assert [(p.client_port, p.server_port, p.protocol) for p in created.ports] == [(8080, 90, "TCP"), (8081, 80, "TCP")]
    wait_until(lambda: service_status(alice, created.id) == "available", what="available")
    got = alice.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=created.id))
    assert got.status == "available"


def test_name_is_optional(alice):
    created = create_service(alice, service_name=None)
    assert created.service_name == f"{REGION}.{created.id}"


def test_list_filters_sorting_and_paging(alice):
    first = available_service(alice, service_name="alpha", ports=((1, 1),))
    second = create_service(alice, service_name="beta", ports=((2, 2),))
    listing = alice.list_endpoint_service(ListEndpointServiceRequest())
    assert listing.total_count == 2
    assert [s.id for s in listing.endpoint_services] == [second.id, first.id], "created_at desc by default"
    asc = alice.list_endpoint_service(ListEndpointServiceRequest(sort_dir="asc", limit=1, offset=1))
    assert asc.total_count == 2
    assert [s.id for s in asc.endpoint_services] == [second.id]
    by_name = alice.list_endpoint_service(ListEndpointServiceRequest(endpoint_service_name="ALPH"))
    assert [s.id for s in by_name.endpoint_services] == [first.id]
    by_status = alice.list_endpoint_service(ListEndpointServiceRequest(status="available"))
    assert first.id in [s.id for s in by_status.endpoint_services]
    by_id = alice.list_endpoint_service(ListEndpointServiceRequest(id=second.id))
    assert by_id.total_count == 1
    assert by_id.endpoint_services[0].connection_count == 0
    assert by_id.endpoint_services[0].domain_id == ALICE.domain_id
    err = api_error(lambda: alice.list_endpoint_service(ListEndpointServiceRequest(limit=1001)))
    assert (err.status_code, err.error_code) == (400, "EndPoint.0006")
    err = api_error(lambda: alice.list_endpoint_service(ListEndpointServiceRequest(sort_key="name")))
    assert err.error_code == "EndPoint.0017"


def test_lists_are_per_project(alice, bob):
    create_service(alice)
    assert bob.list_endpoint_service(ListEndpointServiceRequest()).total_count == 0


def test_update_and_rename(alice):
    created = available_service(alice)
    body = UpdateEndpointServiceRequestBody(
        approval_enabled=True,
        description="updated by the SDK",
        ports=[PortList(client_port=443, server_port=8443, protocol="TCP")],
        tcp_proxy="toa_open",
    )
    updated = alice.update_endpoint_service(UpdateEndpointServiceRequest(vpc_endpoint_service_id=created.id, body=body))
    assert updated.approval_enabled is True
    assert updated.description == "updated by the SDK"
    assert updated.tcp_proxy == "toa_open"
    assert [(p.client_port, p.server_port) for p in updated.ports] == [(443, 8443)]
    renamed = alice.update_endpoint_service(
        UpdateEndpointServiceRequest(
            vpc_endpoint_service_id=created.id, body=UpdateEndpointServiceRequestBody(service_name="renamed")
        )
    )
    assert renamed.service_name == f"{REGION}.renamed.{created.id}"
    by_name_api = alice.update_endpoint_service_name(
        UpdateEndpointServiceNameRequest(
            vpc_endpoint_service_id=created.id,
            body=UpdateEndpointServiceNameRequestBody(endpoint_service_name="third"),
        )
    )
    assert by_name_api.endpoint_service_name == f"{REGION}.third.{created.id}"


def test_describe_by_name_or_id_across_accounts(alice, bob):
    created = available_service(alice)
    by_name = bob.list_service_describe_details(ListServiceDescribeDetailsRequest(endpoint_service_name=created.service_name))
    assert by_name.id == created.id
    assert by_name.service_type == "interface"
    assert by_name.is_charge is False
    by_id = bob.list_service_describe_details(ListServiceDescribeDetailsRequest(id=created.id))
    assert by_id.service_name == created.service_name
    err = api_error(lambda: bob.list_service_describe_details(ListServiceDescribeDetailsRequest(endpoint_service_name="eu-de.nope")))
    assert (err.status_code, err.error_code) == (404, "EndPoint.0005")
    # Another account's service is visible through describe only.
    err = api_error(lambda: bob.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=created.id)))
    assert err.status_code == 404


def test_public_services(alice):
    # The Huawei flavour's list; OTC's is in test_flavours.py.
    public = alice.list_service_public_details(ListServicePublicDetailsRequest(limit=100))
    assert [(s.service_name, s.service_type) for s in public.endpoint_services] == [
        (f"com.myhuaweicloud.{REGION}.obs", "gateway")
    ]
    filtered = alice.list_service_public_details(ListServicePublicDetailsRequest(endpoint_service_name="OBS"))
    assert [s.service_name for s in filtered.endpoint_services] == [f"com.myhuaweicloud.{REGION}.obs"]


def test_validation_errors(alice):
    cases = [
        ({"ports": ((0, 80),)}, "EndPoint.3004"),
        ({"ports": ((80, 70000),)}, "EndPoint.3043"),
        ({"ports": ((80, 80), (80, 81))}, "EndPoint.0002"),
        ({"service_name": "way-too-long-service-name"}, "EndPoint.1003"),
        ({"service_name": "bad.name"}, "EndPoint.1003"),
        ({"description": "x" * 129}, "EndPoint.0002"),
        ({"description": "<script>"}, "EndPoint.0002"),
    ]
    for kwargs, code in cases:
        err = api_error(lambda: create_service(alice, **kwargs))
        assert (err.status_code, err.error_code) == (400, code), kwargs
        assert err.error_msg


def test_delete_goes_through_deleting_to_404(alice):
    created = available_service(alice)
    alice.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=created.id))
    assert service_status(alice, created.id) == "deleting"
    err = wait_until(
        lambda: gone(lambda: alice.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=created.id))),
        what="service gone",
    )
    assert err.error_code == "EndPoint.0005"
    err = api_error(lambda: alice.delete_endpoint_service(DeleteEndpointServiceRequest(vpc_endpoint_service_id=created.id)))
    assert err.status_code == 404
