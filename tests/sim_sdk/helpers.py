"""Helpers shared by the simulator tests: the simulator, polling, ids, raw signed requests, SDK
shortcuts. The simulator's launcher and the polling loop are those of scripts/harness.py (which
conftest.py puts on sys.path)."""

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkvpcep.v1 import (
    CreateEndpointRequest,
    CreateEndpointRequestBody,
    CreateEndpointServiceRequest,
    CreateEndpointServiceRequestBody,
    ListEndpointInfoDetailsRequest,
    ListServiceDetailsRequest,
    PortList,
    VpcepClient,
)
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException

import harness


REPO = Path(__file__).resolve().parents[2]
REGION = "eu-de"


@dataclass(frozen=True)
class Account:
    domain_name: str
    domain_id: str
    project_id: str
    ak: str
    sk: str

    def flag(self):
        return f"{self.domain_name}:{self.domain_id}:{self.project_id}:{self.ak}:{self.sk}"


ALICE = Account("alice-domain", "a1" * 16, "a2" * 16, "ALICEACCESSKEY000001", "alice-secret-key-0000000000000000000000")
BOB = Account("bob-domain", "b1" * 16, "b2" * 16, "BOBACCESSKEY00000001", "bob-secret-key-00000000000000000000000000")
USER = ("operator", "s3cret:pw", ALICE.domain_name)


def sim_binary():
    return os.environ.get("VPCEP_SIM_BIN") or harness.binary(REPO / "target" / "debug", "vpcep-sim")


class Sim(harness.Sim):
    """The simulator of these tests: the `cloud` flavour in `region`, Alice's and Bob's accounts, a
    user, small quotas (the flavour's defaults without `small_quotas`) and quick state changes,
    plus `extra_args`; its log in target/`log_name`."""

    def __init__(self, *extra_args, log_name="vpcep-sim.log", cloud="huawei", region=REGION, small_quotas=True):
        quotas = ["--quota-services", "5", "--quota-endpoints", "5"] if small_quotas else []
        args = [
            "--cloud", cloud,
            "--region", region,
            "--provision-delay", "300ms",
            "--delete-delay", "300ms",
            *quotas,
            "--account", ALICE.flag(),
            "--account", BOB.flag(),
            "--user", ":".join(USER),
            "--fault-seed", "7",
            *extra_args,
        ]
        super().__init__(sim_binary(), args, REPO / "target" / log_name)


def client_for(sim, account, project_id=None, sk=None):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.timeout = (5, 10)
    credentials = BasicCredentials(account.ak, sk or account.sk, project_id or account.project_id)
    return VpcepClient.new_builder().with_http_config(config).with_credentials(credentials).with_endpoints([sim.url]).build()


def wait_until(probe, timeout=10.0, interval=0.05, what="condition"):
    """Polls `probe` until it returns a truthy value, which is returned."""
    return harness.wait_until(probe, timeout, interval, what, error=AssertionError)


def new_id():
    return str(uuid.uuid4())


def signed_request(sim, account, method, path, query=(), body=None, date=None, headers=None, sk=None, tamper=None):
    """Signs a request with the SDK's own signer, optionally tampers with it, and sends it raw.

    `tamper(prepared)` receives a dict with method, url, headers and body and may change them after
    signing.
    """
    header_params = {"Content-Type": "application/json;charset=UTF-8"}
    if date:
        header_params["X-Sdk-Date"] = date
    header_params.update(headers or {})
    payload = json.dumps(body).encode() if body is not None else b""
    request = SdkRequest(
        method=method,
        schema="http",
        host=urlparse(sim.url).netloc,
        resource_path=path,
        query_params=list(query),
        header_params=header_params,
        body=payload,
    )
    Signer(BasicCredentials(account.ak, sk or account.sk)).sign(request)
    prepared = {
        "method": method,
        "url": sim.url + request.uri,
        "headers": dict(request.header_params),
        "body": request.body,
    }
    if tamper:
        tamper(prepared)
    return requests.request(
        prepared["method"], prepared["url"], headers=prepared["headers"], data=prepared["body"], timeout=10
    )


def create_service(client, approval_enabled=False, service_name="web", ports=((8080, 90), (8081, 80)), **fields):
    """The documented example body: a VM interface service without approval."""
    body = CreateEndpointServiceRequestBody(
        port_id=new_id(),
        vpc_id=new_id(),
        server_type="VM",
        service_type="interface",
        approval_enabled=approval_enabled,
        service_name=service_name,
        ports=[PortList(client_port=c, server_port=s, protocol="TCP") for c, s in ports],
        **fields,
    )
    return client.create_endpoint_service(CreateEndpointServiceRequest(body=body))


def service_status(client, service_id):
    return client.list_service_details(ListServiceDetailsRequest(vpc_endpoint_service_id=service_id)).status


def available_service(client, **kwargs):
    created = create_service(client, **kwargs)
    wait_until(lambda: service_status(client, created.id) == "available", what="service available")
    return created


def create_endpoint(client, service_id, enable_dns=True, **fields):
    body = CreateEndpointRequestBody(
        endpoint_service_id=service_id,
        vpc_id=new_id(),
        subnet_id=fields.pop("subnet_id", new_id()),
        enable_dns=enable_dns,
        **fields,
    )
    return client.create_endpoint(CreateEndpointRequest(body=body))


def get_endpoint(client, endpoint_id):
    return client.list_endpoint_info_details(ListEndpointInfoDetailsRequest(vpc_endpoint_id=endpoint_id))


def endpoint_in(client, endpoint_id, *statuses):
    return wait_until(
        lambda: (e := get_endpoint(client, endpoint_id)).status in statuses and e,
        what=f"endpoint {endpoint_id} in {statuses}",
    )


def api_error(call):
    """Runs `call`, which must fail with a client error; returns the exception."""
    try:
        call()
    except ClientRequestException as e:
        return e
    raise AssertionError("the call succeeded")


def gone(call):
    """Whether `call` now fails with 404."""
    try:
        call()
    except ClientRequestException as e:
        assert e.status_code == 404, e
        return e
    return None
