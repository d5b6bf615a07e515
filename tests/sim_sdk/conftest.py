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


@pytest.fixture(scope="session")
def otc_sim():
    """A second simulator of the OTC flavour, driven through the same SDK as an HTTP client."""
    s = Sim(cloud="otc", log_name="vpcep-sim-otc.log")
    yield s
    s.stop()


@pytest.fixture
def otc(otc_sim):
    otc_sim.control("POST", "/reset")
    return client_for(otc_sim, ALICE)


@pytest.fixture(params=["huawei", "otc"])
def flavour_client(request):
    """Alice on each flavour in turn, for the rows of the flavour table that both clouds share."""
    if request.param == "huawei":
        # Requested dynamically, so `fresh` has not seen `sim` among the test's fixtures.
        request.getfixturevalue("sim").control("POST", "/reset")
        return request.getfixturevalue("alice")
    return request.getfixturevalue("otc")
