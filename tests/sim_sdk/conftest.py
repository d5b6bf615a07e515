"""Fixtures for driving vpcep-sim with the official Huawei Cloud Python SDK.

The simulator binary is started once per session (override its path with VPCEP_SIM_BIN) and reset
between tests through its /_sim control API.
"""

import sys
from pathlib import Path

import pytest

# scripts/harness.py: the launcher of the simulator that the benchmark and the chaos run use too.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from helpers import ALICE, BOB, Sim, client_for  # noqa: E402 (after the path)


@pytest.fixture(scope="session")
def sim():
    s = Sim()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def fresh(request):
    """Every test starts from an empty cloud, without faults or counters."""
    if "sim" in request.fixturenames:
        request.getfixturevalue("sim").control("POST", "/reset")


@pytest.fixture
def alice(sim):
    return client_for(sim, ALICE)


@pytest.fixture
def bob(sim):
    return client_for(sim, BOB)
