"""Out-of-band edits through /_sim, for drift tests."""

import requests
from huaweicloudsdkvpcep.v1 import ListServiceDetailsRequest

from helpers import ALICE, api_error, available_service, create_endpoint, endpoint_in, get_endpoint, service_status


def test_patch_service_fields(sim, alice):
    service = available_service(alice)
    patched = sim.control("PATCH", f"/services/{service.id}", {"status": "failed", "description": "drifted"})
    assert patched["status"] == "failed"
    got = alice.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=service.id))
    assert (got.status, got.description) == ("failed", "drifted")
    bad = requests.patch(f"{sim.url}/_sim/services/{service.id}", json={"no_such_field": 1}, timeout=10)
    assert bad.status_code == 400


def test_instant_deletes(sim, alice):
    service = available_service(alice)
    endpoint = create_endpoint(alice, service.id)
    sim.control("DELETE", f"/endpoints/{endpoint.id}")
    assert api_error(lambda: get_endpoint(alice, endpoint.id)).status_code == 404
    sim.control("DELETE", f"/services/{service.id}")
    assert api_error(lambda: service_status(alice, service.id)).error_code == "EndPoint.0005"
    missing = requests.delete(f"{sim.url}/_sim/services/{service.id}", timeout=10)
    assert missing.status_code == 404


def test_accept_and_reject_as_the_other_account(sim, alice, bob):
    service = available_service(alice, approval_enabled=True)
    sim.control("PATCH", f"/services/{service.id}", {"permissions": [
        {"id": "p1", "permission": "*", "permission_type": "domainId", "description": "", "created_at": "2024-01-01T00:00:00Z", "seq": 1}
    ]})
    endpoint = create_endpoint(bob, service.id)
    endpoint_in(bob, endpoint.id, "pendingAcceptance")
    accepted = sim.control("POST", f"/endpoints/{endpoint.id}/connection", {"action": "receive"})
    assert accepted["status"] == "accepted"
    assert endpoint_in(bob, endpoint.id, "accepted").ip
    sim.control("POST", f"/endpoints/{endpoint.id}/connection", {"action": "reject"})
    assert get_endpoint(bob, endpoint.id).status == "rejected"
    accounts = sim.state()["accounts"]
    assert accounts[0]["project_id"] == ALICE.project_id
    assert all("secret_key" not in a for a in accounts)
