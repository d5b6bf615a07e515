"""The Keystone side of the simulator as the OpenStack SDK uses it: version discovery, the password
token with its catalog, and the VPCEP endpoint that otcextensions takes from that catalog."""

import requests

from otc_helpers import ALICE, REGION


def token_request(sim, query=""):
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": ALICE.user, "password": ALICE.password, "domain": {"name": ALICE.domain_name}}
                },
            },
            "scope": {"project": {"name": REGION}},
        }
    }
    return requests.post(f"{sim.url}/v3/auth/tokens{query}", json=body, timeout=10)


def test_identity_version_discovery(sim):
    r = requests.get(f"{sim.url}/v3", timeout=10)
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    assert version["status"] == "stable"
    assert version["links"] == [{"rel": "self", "href": f"{sim.url}/v3/"}]


def test_password_token_carries_the_catalog(sim):
    r = token_request(sim)
    assert r.status_code == 201, r.text
    assert r.headers["X-Subject-Token"]
    token = r.json()["token"]
    assert token["project"]["id"] == ALICE.project_id
    by_type = {entry["type"]: entry["endpoints"] for entry in token["catalog"]}
    assert by_type["vpcep"] == [
        {
            "id": "vpcep-public",
            "interface": "public",
            "region": REGION,
            "region_id": REGION,
            "url": f"{sim.url}/v1/{ALICE.project_id}",
        }
    ]
    assert by_type["identity"][0]["url"] == f"{sim.url}/v3"
    without = token_request(sim, "?nocatalog=true")
    assert without.status_code == 201
    assert "catalog" not in without.json()["token"]


def test_the_sdk_discovers_authenticates_and_finds_vpcep(sim, alice):
    assert alice.current_project_id == ALICE.project_id
    assert alice.endpoint_for("vpcep") == f"{sim.url}/v1/{ALICE.project_id}"
    assert list(alice.vpcep.services()) == []
    # Discovery answered (keystoneauth would otherwise fall back to guessing from the URL), one
    # token served every call after it.
    counters = sim.counters(detail=True)
    assert set(counters["show_identity_version"]["outcomes"]) == {"200"}
    assert counters["create_token"] == {"total": 1, "outcomes": {"201": 1}}
    assert counters["list_services"] == {"total": 1, "outcomes": {"200": 1}}
