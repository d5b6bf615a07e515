"""Authentication as the API gateway does it: AK/SK signatures, IAM tokens, project checks."""

from datetime import datetime, timedelta, timezone

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.region.region import Region
from huaweicloudsdkvpcep.v1 import ListEndpointServiceRequest, VpcepClient

from helpers import ALICE, BOB, REGION, USER, api_error, client_for, create_service, signed_request

AKSK_FAILURE = "Incorrect IAM authentication information: verify aksk signature fail"


def services_path(account=ALICE):
    return f"/v1/{account.project_id}/vpc-endpoint-services"


def sdk_date(delta=timedelta()):
    return (datetime.now(timezone.utc) + delta).strftime("%Y%m%dT%H%M%SZ")


def assert_aksk_refused(response):
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error_code"] == "APIG.0301"
    assert body["error_msg"] == AKSK_FAILURE
    assert body["request_id"] == response.headers["X-Request-Id"]


def test_signed_raw_requests_verify(sim):
    r = signed_request(sim, ALICE, "GET", services_path(), query=[("limit", 5), ("endpoint_service_name", "a b/c")])
    assert r.status_code == 200, r.text
    assert r.json() == {"endpoint_services": [], "total_count": 0}
    assert r.headers["X-Request-Id"]
    r = signed_request(sim, ALICE, "POST", services_path(), body={})
    assert r.status_code == 400
    assert r.json()["error_code"] == "EndPoint.2002"
    r = signed_request(sim, ALICE, "POST", services_path(), body={"approvalEnabled": False})
    assert r.status_code == 400
    assert r.json()["error_code"] == "EndPoint.0002", "misspelt fields are refused, not ignored"


def test_tampered_requests_are_refused(sim):
    body = {"action": "count"}
    path = f"/v1/{ALICE.project_id}/endpoint_service/resource_instances/action"

    def change_body(p):
        p["body"] = b'{"action": "filter"}'

    def change_query(p):
        p["url"] += "?limit=2"

    def change_signature(p):
        auth = p["headers"]["Authorization"]
        last = auth[-1]
        p["headers"]["Authorization"] = auth[:-1] + ("0" if last != "0" else "1")

    def drop_date(p):
        del p["headers"]["X-Sdk-Date"]

    for tamper in (change_body, change_query, change_signature, drop_date):
        assert_aksk_refused(signed_request(sim, ALICE, "POST", path, body=body, tamper=tamper))
    assert signed_request(sim, ALICE, "POST", path, body=body).status_code == 200


def test_wrong_secret_and_unknown_key_are_refused(sim):
    assert_aksk_refused(signed_request(sim, ALICE, "GET", services_path(), sk="not-the-secret"))
    err = api_error(lambda: client_for(sim, ALICE, sk="wrong").list_endpoint_service(ListEndpointServiceRequest()))
    assert (err.status_code, err.error_code, err.error_msg) == (401, "APIG.0301", AKSK_FAILURE)

    def unknown_ak(p):
        p["headers"]["Authorization"] = p["headers"]["Authorization"].replace(ALICE.ak, "NOSUCHACCESSKEY00001")

    assert_aksk_refused(signed_request(sim, ALICE, "GET", services_path(), tamper=unknown_ak))
    unsigned = requests.get(sim.url + services_path(), timeout=10)
    assert_aksk_refused(unsigned)


def test_stale_and_future_dates_are_refused(sim):
    assert_aksk_refused(signed_request(sim, ALICE, "GET", services_path(), date=sdk_date(timedelta(minutes=-16))))
    assert_aksk_refused(signed_request(sim, ALICE, "GET", services_path(), date=sdk_date(timedelta(minutes=16))))
    ok = signed_request(sim, ALICE, "GET", services_path(), date=sdk_date(timedelta(minutes=-5)))
    assert ok.status_code == 200


def test_foreign_projects_are_forbidden(sim):
    err = api_error(lambda: client_for(sim, ALICE, project_id=BOB.project_id).list_endpoint_service(ListEndpointServiceRequest()))
    assert (err.status_code, err.error_code) == (403, "EndPoint.0004")
    r = signed_request(sim, ALICE, "GET", services_path(BOB))
    assert r.status_code == 403
    assert r.json()["error_code"] == "EndPoint.0004"


def get_token(sim, password=USER[1], scope=None):
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"name": USER[0], "password": password, "domain": {"name": USER[2]}}},
            },
            "scope": scope or {"project": {"name": REGION}},
        }
    }
    return requests.post(f"{sim.url}/v3/auth/tokens", json=body, timeout=10)


def test_token_auth(sim):
    r = get_token(sim)
    assert r.status_code == 201, r.text
    token = r.headers["X-Subject-Token"]
    info = r.json()["token"]
    assert info["project"]["id"] == ALICE.project_id
    assert info["project"]["name"] == REGION
    expires = datetime.strptime(info["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
    assert timedelta(hours=23, minutes=59) < expires - datetime.now(timezone.utc) <= timedelta(hours=24)
    assert info["catalog"][0]["type"] == "vpcep"

    listed = requests.get(sim.url + services_path(), headers={"X-Auth-Token": token}, timeout=10)
    assert listed.status_code == 200, listed.text
    created = requests.post(
        sim.url + services_path(),
        headers={"X-Auth-Token": token},
        json={"port_id": "3a1e6f43-9b76-4d7c-9b64-2d3f9c0b8a11", "vpc_id": "0b4c2d77-5d64-4f1a-8f3e-1a2b3c4d5e6f",
              "server_type": "VM", "ports": [{"client_port": 80, "server_port": 80}]},
        timeout=10,
    )
    assert created.status_code == 200, created.text
    assert created.json()["approval_enabled"] is True, "approval is on by default"

    foreign = requests.get(sim.url + services_path(BOB), headers={"X-Auth-Token": token}, timeout=10)
    assert foreign.status_code == 403
    unknown = requests.get(sim.url + services_path(), headers={"X-Auth-Token": "MIIforged"}, timeout=10)
    assert unknown.status_code == 401
    assert unknown.json()["error_code"] == "APIG.0301"

    assert get_token(sim, scope={"project": {"id": ALICE.project_id}}).status_code == 201
    assert get_token(sim, password="wrong").status_code == 401
    domain_token = get_token(sim, scope={"domain": {"name": USER[2]}})
    assert domain_token.status_code == 201
    unscoped = requests.get(
        sim.url + services_path(), headers={"X-Auth-Token": domain_token.headers["X-Subject-Token"]}, timeout=10
    )
    assert unscoped.status_code == 403


def test_sdk_finds_the_project_id_through_iam(sim):
    """Without a project id the SDK asks IAM `GET /v3/projects?name=<region>`, signed with AK/SK."""
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    credentials = BasicCredentials(ALICE.ak, ALICE.sk).with_iam_endpoint(sim.url)
    client = (
        VpcepClient.new_builder()
        .with_http_config(config)
        .with_credentials(credentials)
        .with_region(Region(REGION, sim.url))
        .build()
    )
    create_service(client)
    assert credentials.project_id == ALICE.project_id
    assert client.list_endpoint_service(ListEndpointServiceRequest()).total_count == 1
    assert sim.counters()["list_projects"] == 1


def test_every_response_has_a_request_id(sim):
    for r in (
        requests.get(sim.url + "/", timeout=10),
        requests.get(sim.url + "/nowhere", timeout=10),
        requests.get(sim.url + "/_sim/counters", timeout=10),
    ):
        assert len(r.headers["X-Request-Id"]) == 32
    assert requests.get(sim.url + "/nowhere", timeout=10).json()["error_code"] == "APIG.0101"


def test_sdk_error_carries_the_request_id(sim, alice):
    try:
        alice.list_endpoint_service(ListEndpointServiceRequest(sort_dir="sideways"))
    except ClientRequestException as e:
        assert e.error_code == "EndPoint.0018"
        assert e.request_id
    else:
        raise AssertionError("accepted an invalid sort_dir")
