"""Tags, tag queries and quotas through the SDK."""

from huaweicloudsdkvpcep.v1 import (
    BatchAddOrRemoveResourceInstanceRequest,
    BatchAddOrRemoveResourceInstanceRequestBody,
    ListEndpointServiceRequest,
    ListQueryProjectResourceTagsRequest,
    ListQuotaDetailsRequest,
    ListResourceInstancesRequest,
    ListServiceDetailsRequest,
    Match,
    QueryResourceInstanceTagsBody,
    ResourceTag,
    TagList,
    TagValuesList,
)

from helpers import ALICE, api_error, available_service, create_endpoint, create_service, signed_request


def tag(client, resource_type, resource_id, action, **tags):
    body = BatchAddOrRemoveResourceInstanceRequestBody(
        action=action, tags=[ResourceTag(key=k, value=v) for k, v in tags.items()]
    )
    return client.batch_add_or_remove_resource_instance(
        BatchAddOrRemoveResourceInstanceRequest(resource_type=resource_type, resource_id=resource_id, body=body)
    )


def query(client, resource_type="endpoint_service", **body):
    return client.list_resource_instances(
        ListResourceInstancesRequest(resource_type=resource_type, body=QueryResourceInstanceTagsBody(**body))
    )


def values(key, *vs):
    return TagValuesList(key=key, values=list(vs))


def test_tags_on_create_and_through_the_tag_api(alice):
    prod = create_service(alice, service_name="prod", ports=((1, 1),), tags=[TagList(key="env", value="prod")])
    assert [(t.key, t.value) for t in prod.tags] == [("env", "prod")]
    dev = create_service(alice, service_name="dev", ports=((2, 2),))
    tag(alice, "endpoint_service", dev.id, "create", env="dev", team="blue")
    tag(alice, "endpoint_service", prod.id, "create", team="red")
    got = alice.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=dev.id))
    assert {(t.key, t.value) for t in got.tags} == {("env", "dev"), ("team", "blue")}

    summary = alice.list_query_project_resource_tags(ListQueryProjectResourceTagsRequest(resource_type="endpoint_service"))
    assert {t.key: sorted(t.values) for t in summary.tags} == {"env": ["dev", "prod"], "team": ["blue", "red"]}

    found = query(alice, action="filter", tags=[values("env", "prod")])
    assert [r.resource_id for r in found.resources] == [prod.id]
    assert found.total_count == 1
    assert found.resources[0].resource_name == prod.service_name
    assert query(alice, action="filter", tags=[values("env")]).total_count == 2
    assert query(alice, action="count", tags_any=[values("team", "red"), values("env", "dev")]).total_count == 2
    assert [r.resource_id for r in query(alice, action="filter", not_tags=[values("env", "dev")]).resources] == [prod.id]
    assert query(alice, action="count", not_tags_any=[values("team")]).total_count == 0
    named = query(alice, action="filter", matches=[Match(key="resource_name", value="PROD")])
    assert [r.resource_id for r in named.resources] == [prod.id]
    page = query(alice, action="filter", limit="1", offset="1")
    assert len(page.resources) == 1 and page.total_count == 2

    tag(alice, "endpoint_service", dev.id, "delete", team="green")
    assert len(alice.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=dev.id)).tags) == 2
    tag(alice, "endpoint_service", dev.id, "delete", team="blue")
    got = alice.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=dev.id))
    assert [(t.key, t.value) for t in got.tags] == [("env", "dev")]


def test_endpoint_tags(alice):
    service = available_service(alice)
    endpoint = create_endpoint(alice, service.id, tags=[TagList(key="owner", value="me")])
    tag(alice, "endpoint", endpoint.id, "create", stage="test")
    found = query(alice, resource_type="endpoint", action="filter", tags=[values("stage", "test")])
    assert [r.resource_id for r in found.resources] == [endpoint.id]
    assert {(t.key, t.value) for t in found.resources[0].tags} == {("owner", "me"), ("stage", "test")}


def test_tag_limits(alice):
    service = create_service(alice)
    # Huawei's lengths and charset (per flavour: test_flavours.py).
    err = api_error(lambda: tag(alice, "endpoint_service", service.id, "create", **{"k" * 129: "v"}))
    assert err.error_code == "EndPoint.3072"
    err = api_error(lambda: tag(alice, "endpoint_service", service.id, "create", key="v" * 256))
    assert err.error_code == "EndPoint.3073"
    err = api_error(lambda: tag(alice, "endpoint_service", service.id, "create", **{"a/b": "v"}))
    assert err.error_code == "EndPoint.3068"
    tag(alice, "endpoint_service", service.id, "create", **{f"k{i}": "v" for i in range(10)})
    err = api_error(lambda: tag(alice, "endpoint_service", service.id, "create", extra="v"))
    assert err.error_code == "EndPoint.3069"
    err = api_error(lambda: tag(alice, "vpc", service.id, "create", a="b"))
    assert err.error_code == "EndPoint.3070"
    err = api_error(lambda: create_service(alice, ports=((5, 5),), tags=[TagList(key=f"k{i}", value="v") for i in range(11)]))
    assert err.error_code == "EndPoint.3069"


def test_limit_and_offset_as_numbers_are_accepted(sim):
    r = signed_request(
        sim,
        ALICE,
        "POST",
        f"/v1/{ALICE.project_id}/endpoint_service/resource_instances/action",
        body={"action": "filter", "limit": 10, "offset": 0},
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"resources": [], "total_count": 0}


def test_quotas(alice):
    quotas = alice.list_quota_details(ListQuotaDetailsRequest()).quotas.resources
    assert {(q.type, q.used, q.quota) for q in quotas} == {("endpoint_service", 0, 5), ("endpoint", 0, 5)}
    for port in range(5):
        create_service(alice, ports=((port + 1, port + 1),))
    err = api_error(lambda: create_service(alice, ports=((99, 99),)))
    assert (err.status_code, err.error_code.lower()) == (400, "endpoint.1018")
    only = alice.list_quota_details(ListQuotaDetailsRequest(type="endpoint_service")).quotas.resources
    assert [(q.type, q.used) for q in only] == [("endpoint_service", 5)]
    assert alice.list_endpoint_service(ListEndpointServiceRequest()).total_count == 5
