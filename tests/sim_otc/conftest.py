"""Fixtures for driving vpcep-sim as Open Telekom Cloud (`--cloud otc`) with T Cloud Public's own
SDK, otcextensions, as tests/sim_sdk drives the Huawei flavour with the Huawei Cloud SDK.

The simulator binary is started once per session (override its path with VPCEP_SIM_BIN) and reset
between tests through its /_sim control API.
"""

import sys
from pathlib import Path

import pytest

# scripts/harness.py: the launcher of the simulator that the benchmark and the chaos run use too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from otc_helpers import ALICE, BOB, Sim, connect  # noqa: E402 (after the path)


def pytest_configure(config):
    # openstacksdk warns about its own deprecated internals, which otcextensions still calls (a
    # few hundred lines per run that say nothing about the simulator).
    config.addinivalue_line("filterwarnings", "ignore::openstack.warnings._RemovedInSDKWarning")


@pytest.fixture(scope="session")
def sim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def fresh(sim):
    """Every test starts from an empty cloud, without tokens, faults or counters."""
    sim.control("POST", "/reset")


@pytest.fixture
def alice(sim):
    return connect(sim, ALICE)


@pytest.fixture
def bob(sim):
    return connect(sim, BOB)
