"""Helpers shared by the simulator tests: polling, ids, raw signed requests, SDK shortcuts."""

import json
import os
import subprocess
import time
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
    return os.environ.get("VPCEP_SIM_BIN", str(REPO / "target" / "debug" / "vpcep-sim"))


class Sim:
    """A running simulator process."""

    def __init__(self, *extra_args, log_name="vpcep-sim.log"):
        args = [
            sim_binary(),
            "--listen", "127.0.0.1:0",
            "--region", REGION,
            "--provision-delay", "300ms",
            "--delete-delay", "300ms",
            "--quota-services", "5",
            "--quota-endpoints", "5",
            "--account", ALICE.flag(),
            "--account", BOB.flag(),
            "--user", ":".join(USER),
            "--fault-seed", "7",
            *extra_args,
        ]
        self.log = open(REPO / "target" / log_name, "ab")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.url = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith("listening on "):
                self.url = line.split()[-1]
                break
        if self.url is None:
            self.stop()
            raise RuntimeError(f"vpcep-sim did not start; see {self.log.name}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()

    def control(self, method, path, body=None):
        r = requests.request(method, f"{self.url}/_sim{path}", json=body, timeout=10)
        r.raise_for_status()
        return r.json() if r.content else None

    def state(self):
        return self.control("GET", "/state")

    def counters(self):
        return self.control("GET", "/counters")


def client_for(sim, account, project_id=None, sk=None):
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    config.timeout = (5, 10)
    credentials = BasicCredentials(account.ak, sk or account.sk, project_id or account.project_id)
    return VpcepClient.new_builder().with_http_config(config).with_credentials(credentials).with_endpoints([sim.url]).build()


def wait_until(probe, timeout=10.0, interval=0.05, what="condition"):
    """Polls `probe` until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}; last value: {last!r}")


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
