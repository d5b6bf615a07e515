"""Helpers of the OTC-flavour tests: the simulator as OTC, connections of T Cloud Public's own SDK
(otcextensions on top of openstacksdk, authenticated by password against the simulator's IAM),
polling and the SDK's errors. The launcher and the polling loop are those of scripts/harness.py
(which conftest.py puts on sys.path). Named otc_helpers so that it cannot be mistaken for
tests/sim_sdk/helpers.py when both directories are collected in one run."""

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import openstack
from openstack import exceptions
from otcextensions import sdk

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
    user: str
    password: str

    def account_flag(self):
        return f"{self.domain_name}:{self.domain_id}:{self.project_id}:{self.ak}:{self.sk}"

    def user_flag(self):
        return f"{self.user}:{self.password}:{self.domain_name}"


ALICE = Account(
    "alice-domain", "a1" * 16, "a2" * 16, "ALICEACCESSKEY000001", "alice-secret-key-0000000000000000000000",
    "alice", "alice:pw",
)
BOB = Account(
    "bob-domain", "b1" * 16, "b2" * 16, "BOBACCESSKEY00000001", "bob-secret-key-00000000000000000000000000",
    "bob", "bob-pw",
)


class Sim(harness.Sim):
    """The simulator as Open Telekom Cloud: Alice's and Bob's accounts, each with an IAM user,
    small quotas and quick state changes; its log in target/vpcep-sim-otc.log."""

    def __init__(self):
        binary = os.environ.get("VPCEP_SIM_BIN") or harness.binary(REPO / "target" / "debug", "vpcep-sim")
        args = [
            "--cloud", "otc",
            "--region", REGION,
            "--provision-delay", "300ms",
            "--delete-delay", "300ms",
            "--quota-services", "5",
            "--quota-endpoints", "5",
        ]
        for account in (ALICE, BOB):
            args += ["--account", account.account_flag(), "--user", account.user_flag()]
        super().__init__(binary, args, REPO / "target" / "vpcep-sim-otc.log")


def connect(sim, account):
    """An OpenStack SDK connection with the OTC extensions, as an OTC user configures one: the
    IAM `auth_url`, user, domain and the region's project. The SDK discovers the identity API,
    gets a token with its catalog and finds VPCEP there."""
    conn = openstack.connect(
        auth_url=f"{sim.url}/v3",
        username=account.user,
        password=account.password,
        user_domain_name=account.domain_name,
        project_name=REGION,
        region_name=REGION,
        # Only what is given here: no clouds.yaml or OS_* variables of the machine.
        load_yaml_config=False,
        load_envvars=False,
    )
    sdk.register_otc_extensions(conn)
    return conn


def wait_until(probe, timeout=10.0, interval=0.05, what="condition"):
    """Polls `probe` until it returns a truthy value, which is returned."""
    return harness.wait_until(probe, timeout, interval, what, error=AssertionError)


def new_id():
    return str(uuid.uuid4())


def create_service(conn, approval=False, name="web", ports=((8080, 90),)):
    return conn.vpcep.create_service(
        port_id=new_id(),
        router_id=new_id(),
        server_type="VM",
        service_type="interface",
        is_approval_enabled=approval,
        service_name=name,
        ports=[{"client_port": c, "server_port": s, "protocol": "TCP"} for c, s in ports],
    )


def available_service(conn, **kwargs):
    created = create_service(conn, **kwargs)
    wait_until(lambda: conn.vpcep.get_service(created.id).status == "available", what="service available")
    return created


def create_endpoint(conn, service_id, **fields):
    return conn.vpcep.create_endpoint(
        endpoint_service_id=service_id,
        router_id=new_id(),
        network_id=fields.pop("network_id", new_id()),
        is_dns_enabled=fields.pop("is_dns_enabled", False),
        **fields,
    )


def endpoint_in(conn, endpoint_id, *statuses):
    return wait_until(
        lambda: (e := conn.vpcep.get_endpoint(endpoint_id)).status in statuses and e,
        what=f"endpoint {endpoint_id} in {statuses}",
    )


def api_error(call):
    """Runs `call`, which must fail with an HTTP error; returns (status, the body's error_code)."""
    try:
        call()
    except exceptions.HttpException as e:
        return e.status_code, e.response.json().get("error_code")
    raise AssertionError("the call succeeded")


def gone(call):
    """Whether `call` now fails with 404."""
    try:
        call()
    except exceptions.NotFoundException:
        return True
    return False
