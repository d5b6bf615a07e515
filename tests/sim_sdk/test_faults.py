"""Fault injection: errors, throttling, latency and commit-then-drop, plus request counters."""

import time

from huaweicloudsdkcore.exceptions.exceptions import ConnectionException, ServerResponseException
from huaweicloudsdkvpcep.v1 import ListEndpointServiceRequest, ListQuotaDetailsRequest

from helpers import ALICE, api_error, create_service, signed_request


def add_fault(sim, **rule):
    return sim.control("POST", "/faults", rule)


def test_error_rate_one_fails_every_call(sim, alice):
    add_fault(sim, operation="create_service", kind="error", rate=1.0)
    for _ in range(2):
        try:
            create_service(alice)
        except ServerResponseException as e:
            assert (e.status_code, e.error_code) == (500, "EndPoint.0001")
        else:
            raise AssertionError("the fault did not fire")
    assert sim.state()["services"] == [s for s in sim.state()["services"] if s.get("public")]
    assert alice.list_endpoint_service(ListEndpointServiceRequest()).total_count == 0, "other operations unaffected"
    detail = sim.control("GET", "/counters/detail")
    assert detail["create_service"] == {"total": 2, "outcomes": {"500": 2}}


def test_times_budget(sim, alice):
    add_fault(sim, operation="create_service", kind="error", times=1)
    try:
        create_service(alice)
    except ServerResponseException:
        pass
    else:
        raise AssertionError("the first call should fail")
    create_service(alice)
    assert sim.control("GET", "/faults")["faults"][0]["times"] == 0


def test_throttling_with_retry_after(sim, alice):
    add_fault(sim, operation="list_services", kind="throttle", retry_after=3)
    # The SDK turns a 429 into a urllib3 retry error and keeps only the status.
    err = api_error(lambda: alice.list_endpoint_service(ListEndpointServiceRequest()))
    assert err.status_code == 429
    raw = signed_request(sim, ALICE, "GET", f"/v1/{ALICE.project_id}/vpc-endpoint-services")
    assert raw.status_code == 429
    assert raw.json()["error_code"] == "APIG.0308"
    assert raw.headers["Retry-After"] == "3"
    assert raw.json()["request_id"] == raw.headers["X-Request-Id"]


def test_latency(sim, alice):
    add_fault(sim, operation="get_quotas", kind="latency", latency_ms=400, jitter_ms=100)
    started = time.monotonic()
    alice.list_quota_details(ListQuotaDetailsRequest())
    elapsed = time.monotonic() - started
    assert 0.4 <= elapsed < 5, elapsed


def test_commit_then_drop(sim, alice):
    add_fault(sim, operation="create_service", kind="drop", times=1)
    try:
        create_service(alice, service_name="lost")
    except ConnectionException:
        pass
    else:
        raise AssertionError("the response should have been dropped")
    committed = [s for s in sim.state()["services"] if s["name"] == "lost"]
    assert len(committed) == 1, "the write happened although the client saw no answer"
    listing = alice.list_endpoint_service(ListEndpointServiceRequest())
    assert [s.id for s in listing.endpoint_services] == [committed[0]["id"]]
    create_service(alice, service_name="second", ports=((9, 9),))
    detail = sim.control("GET", "/counters/detail")["create_service"]
    assert detail == {"total": 2, "outcomes": {"dropped": 1, "200": 1}}


def test_seeded_faults_are_reproducible(sim, alice):
    def pattern():
        outcomes = []
        for _ in range(16):
            try:
                alice.list_quota_details(ListQuotaDetailsRequest())
                outcomes.append(True)
            except ServerResponseException:
                outcomes.append(False)
        return outcomes

    rules = {"seed": 42, "faults": [{"operation": "get_quotas", "kind": "error", "rate": 0.5}]}
    sim.control("PUT", "/faults", rules)
    first = pattern()
    sim.control("PUT", "/faults", rules)
    assert pattern() == first
    assert 0 < first.count(False) < 16


def test_counters_and_reset(sim, alice):
    create_service(alice)
    alice.list_endpoint_service(ListEndpointServiceRequest())
    alice.list_endpoint_service(ListEndpointServiceRequest())
    assert sim.counters() == {"create_service": 1, "list_services": 2}
    sim.control("DELETE", "/counters")
    assert sim.counters() == {}
    add_fault(sim, operation="*", kind="error")
    sim.control("POST", "/reset")
    assert sim.control("GET", "/faults")["faults"] == []
    assert alice.list_endpoint_service(ListEndpointServiceRequest()).total_count == 0
