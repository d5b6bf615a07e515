"""The state file survives a restart; CLI fault flags work."""

from huaweicloudsdkcore.exceptions.exceptions import ServerResponseException
from huaweicloudsdkvpcep.v1 import ListEndpointServiceRequest, ListQuotaDetailsRequest

from helpers import ALICE, Sim, available_service, client_for, create_endpoint, endpoint_in, get_endpoint


def test_state_survives_restart(tmp_path):
    state_file = tmp_path / "sim-state.json"
    first = Sim("--state-file", str(state_file), log_name="vpcep-sim-persist.log")
    try:
        alice = client_for(first, ALICE)
        service = available_service(alice)
        endpoint = endpoint_in(alice, create_endpoint(alice, service.id).id, "accepted")
    finally:
        first.stop()
    assert state_file.exists()
    second = Sim("--state-file", str(state_file), log_name="vpcep-sim-persist.log")
    try:
        alice = client_for(second, ALICE)
        listed = alice.list_endpoint_service(ListEndpointServiceRequest())
        assert [(s.id, s.status, s.service_name) for s in listed.endpoint_services] == [
            (service.id, "available", service.service_name)
        ]
        again = get_endpoint(alice, endpoint.id)
        assert (again.status, again.ip, again.marker_id) == ("accepted", endpoint.ip, endpoint.marker_id)
    finally:
        second.stop()


def test_fault_flags():
    sim = Sim("--fault", "get_quotas:error:1,times=1", log_name="vpcep-sim-faults.log")
    try:
        alice = client_for(sim, ALICE)
        try:
            alice.list_quota_details(ListQuotaDetailsRequest())
        except ServerResponseException as e:
            assert e.error_code == "EndPoint.0001"
        else:
            raise AssertionError("the flag's fault did not fire")
        alice.list_quota_details(ListQuotaDetailsRequest())
    finally:
        sim.stop()
