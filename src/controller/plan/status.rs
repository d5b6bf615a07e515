//! What the status says about a cloud object: the fields copied from it and the `Ready` verdict
//! its cloud status gives.

use vpcep_api::{VpcEndpointServiceStatus, VpcEndpointStatus};
use vpcep_cloud::model::{Endpoint, EndpointStatus, ErrorDetail, Service, ServiceStatus};

use crate::controller::conditions::{Reason, Verdict};

/// The cloud's error details, as a suffix of a message.
fn errors_suffix(errors: &[ErrorDetail]) -> String {
    errors
        .iter()
        .map(|e| format!(": {} {}", e.error_code, e.error_message))
        .collect()
}

/// Copies the service into the status; returns the `Ready` verdict.
pub fn record_service(status: &mut VpcEndpointServiceStatus, cloud: &Service) -> Verdict {
    status.id = Some(cloud.id.clone());
    status.service_name = Some(cloud.service_name.clone()).filter(|n| !n.is_empty());
    status.status = Some(cloud.status.to_string());
    service_ready(&cloud.status, &errors_suffix(&cloud.error))
}

/// Copies the endpoint into the status; returns the `Ready` verdict.
pub fn record_endpoint(st: &mut VpcEndpointStatus, cloud: &Endpoint) -> Verdict {
    st.id = Some(cloud.id.clone());
    st.service_id = Some(cloud.endpoint_service_id.clone()).filter(|v| !v.is_empty());
    st.service_name = Some(cloud.endpoint_service_name.clone()).filter(|v| !v.is_empty());
    st.service_type = Some(cloud.service_type.to_string()).filter(|v| !v.is_empty());
    st.status = Some(cloud.status.to_string());
    st.active_status = cloud.active_status.clone();
    st.ip = cloud.ip.clone().filter(|v| !v.is_empty());
    st.ipv6_address = cloud.ipv6_address.clone().filter(|v| !v.is_empty());
    st.dns_names = cloud.dns_names.clone();
    st.marker_id = cloud.marker_id;
    match cloud.frozen() {
        // Accepted or not, a frozen endpoint carries no traffic.
        Some(state) if !cloud.status.is_transitional() => Verdict::no(
            Reason::Frozen,
            format!(
                "the cloud froze the endpoint ({state}): it carries no traffic until the account's issue (e.g. arrears, verification) is resolved with the cloud provider"
            ),
        ),
        _ => endpoint_ready(&cloud.status, &errors_suffix(&cloud.error)),
    }
}

/// `Ready` of an endpoint service from its cloud status.
pub fn service_ready(status: &ServiceStatus, errors: &str) -> Verdict {
    match status {
        ServiceStatus::Available => {
            Verdict::yes(Reason::Available, "the endpoint service is available")
        }
        ServiceStatus::Creating => Verdict::no(
            Reason::Creating,
            "the cloud is creating the endpoint service",
        ),
        ServiceStatus::Deleting => Verdict::no(
            Reason::Deleting,
            "the cloud is deleting the endpoint service",
        ),
        ServiceStatus::Failed => Verdict::no(
            Reason::Failed,
            format!(
                "the cloud could not create the endpoint service{errors}; fix the spec (e.g. portId, vpcId) or delete the object"
            ),
        ),
        ServiceStatus::Unknown(other) => Verdict::no(
            Reason::Unknown,
            format!("the cloud reports the unknown status {other:?}"),
        ),
    }
}

/// `Ready` of an endpoint from its cloud status.
pub fn endpoint_ready(status: &EndpointStatus, errors: &str) -> Verdict {
    match status {
        EndpointStatus::Accepted => {
            Verdict::yes(Reason::Accepted, "the endpoint is connected and usable")
        }
        EndpointStatus::Creating => {
            Verdict::no(Reason::Creating, "the cloud is creating the endpoint")
        }
        EndpointStatus::PendingAcceptance => Verdict::no(
            Reason::PendingAcceptance,
            "the endpoint waits for the service owner to accept the connection",
        ),
        EndpointStatus::Rejected => Verdict::no(
            Reason::Rejected,
            "the service owner rejected the connection; ask them to accept it, or delete the object",
        ),
        EndpointStatus::Deleting => {
            Verdict::no(Reason::Deleting, "the cloud is deleting the endpoint")
        }
        EndpointStatus::Failed => Verdict::no(
            Reason::Failed,
            format!(
                "the cloud could not create the endpoint{errors}; fix the spec (e.g. subnetId, portIp) or delete the object"
            ),
        ),
        EndpointStatus::Unknown(other) => Verdict::no(
            Reason::Unknown,
            format!("the cloud reports the unknown status {other:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ready_follows_the_cloud_status() {
        for (status, ready, reason) in [
            (ServiceStatus::Available, true, Reason::Available),
            (ServiceStatus::Creating, false, Reason::Creating),
            (ServiceStatus::Deleting, false, Reason::Deleting),
            (ServiceStatus::Failed, false, Reason::Failed),
            (ServiceStatus::from("frozen"), false, Reason::Unknown),
        ] {
            let v = service_ready(&status, "");
            assert_eq!((v.status, v.reason), (ready, reason), "{status}");
        }
        assert!(
            service_ready(&ServiceStatus::Failed, ": EndPoint.3008 port not found")
                .message
                .contains("EndPoint.3008")
        );
    }

    #[test]
    fn endpoint_ready_follows_the_cloud_status() {
        for (status, ready, reason) in [
            (EndpointStatus::Accepted, true, Reason::Accepted),
            (
                EndpointStatus::PendingAcceptance,
                false,
                Reason::PendingAcceptance,
            ),
            (EndpointStatus::Rejected, false, Reason::Rejected),
            (EndpointStatus::Failed, false, Reason::Failed),
            (EndpointStatus::Deleting, false, Reason::Deleting),
            (EndpointStatus::Creating, false, Reason::Creating),
            (EndpointStatus::from("frozen"), false, Reason::Unknown),
        ] {
            let v = endpoint_ready(&status, "");
            assert_eq!((v.status, v.reason), (ready, reason), "{status}");
        }
    }

    #[test]
    fn the_status_records_what_the_cloud_reports() {
        let cloud = Endpoint {
            id: "e1".into(),
            endpoint_service_id: "s1".into(),
            status: EndpointStatus::Failed,
            ip: Some(String::new()),
            error: vec![ErrorDetail {
                error_code: "EndPoint.2001".into(),
                error_message: "no IP left".into(),
            }],
            ..Default::default()
        };
        let mut st = VpcEndpointStatus::default();
        let v = record_endpoint(&mut st, &cloud);
        assert_eq!(st.id.as_deref(), Some("e1"));
        assert_eq!(st.service_id.as_deref(), Some("s1"));
        assert_eq!(st.status.as_deref(), Some("failed"));
        assert_eq!(st.ip, None, "an empty IP is no IP");
        assert!(
            v.message.contains("EndPoint.2001 no IP left"),
            "{}",
            v.message
        );
    }

    #[test]
    fn a_frozen_endpoint_is_not_ready() {
        let endpoint = |active: &[&str]| Endpoint {
            id: "e1".into(),
            status: EndpointStatus::Accepted,
            active_status: active.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        let mut st = VpcEndpointStatus::default();
        let ready = record_endpoint(&mut st, &endpoint(&["active"]));
        assert_eq!((ready.status, ready.reason), (true, Reason::Accepted));
        let frozen = record_endpoint(&mut st, &endpoint(&["arrear_frozen"]));
        assert_eq!((frozen.status, frozen.reason), (false, Reason::Frozen));
        assert!(
            frozen.message.contains("arrear_frozen"),
            "{}",
            frozen.message
        );
        assert_eq!(st.active_status, vec!["arrear_frozen"]);
    }
}
