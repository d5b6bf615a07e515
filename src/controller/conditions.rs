//! `Ready` and `Synced` conditions: computed from what the cloud reports and how the last
//! reconcile ended. `lastTransitionTime` moves only when a condition's status flips, so a status
//! written twice with the same facts is byte-identical.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";
/// Endpoints with `spec.publish`: whether the Service and ConfigMap are in place.
pub const PUBLISHED: &str = "Published";

/// One condition's content, before timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Verdict {
    pub fn yes(reason: &'static str, message: impl Into<String>) -> Self {
        Verdict {
            status: true,
            reason,
            message: message.into(),
        }
    }

    pub fn no(reason: &'static str, message: impl Into<String>) -> Self {
        Verdict {
            status: false,
            reason,
            message: message.into(),
        }
    }
}

/// Sets condition `type_` in `conditions`, keeping its transition time unless the status flips.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    verdict: Verdict,
    generation: Option<i64>,
    now: Time,
) {
    let status = if verdict.status { "True" } else { "False" }.to_string();
    let last_transition_time = match conditions.iter().find(|c| c.type_ == type_) {
        Some(old) if old.status == status => old.last_transition_time.clone(),
        _ => now,
    };
    let new = Condition {
        type_: type_.to_string(),
        status,
        reason: verdict.reason.to_string(),
        message: verdict.message,
        observed_generation: generation,
        last_transition_time,
    };
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(old) => *old = new,
        None => conditions.push(new),
    }
    conditions.sort_by(|a, b| a.type_.cmp(&b.type_));
}

/// Removes condition `type_`.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) {
    conditions.retain(|c| c.type_ != type_);
}

/// The condition of a type, if present.
pub fn get<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether a condition is present and True.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    get(conditions, type_).is_some_and(|c| c.status == "True")
}

/// `Ready` of an endpoint service from its cloud status.
pub fn service_ready(cloud_status: &str, errors: &str) -> Verdict {
    match cloud_status {
        "available" => Verdict::yes("Available", "the endpoint service is available"),
        "creating" => Verdict::no("Creating", "the cloud is creating the endpoint service"),
        "deleting" => Verdict::no("Deleting", "the cloud is deleting the endpoint service"),
        "failed" => Verdict::no(
            "Failed",
            format!(
                "the cloud could not create the endpoint service{errors}; fix the spec (e.g. portId, vpcId) or delete the object"
            ),
        ),
        other => Verdict::no(
            "Unknown",
            format!("the cloud reports the unknown status {other:?}"),
        ),
    }
}

/// `Ready` of an endpoint from its cloud status.
pub fn endpoint_ready(cloud_status: &str, errors: &str) -> Verdict {
    match cloud_status {
        "accepted" => Verdict::yes("Accepted", "the endpoint is connected and usable"),
        "creating" => Verdict::no("Creating", "the cloud is creating the endpoint"),
        "pendingAcceptance" => Verdict::no(
            "PendingAcceptance",
            "the endpoint waits for the service owner to accept the connection",
        ),
        "rejected" => Verdict::no(
            "Rejected",
            "the service owner rejected the connection; ask them to accept it, or delete the object",
        ),
        "deleting" => Verdict::no("Deleting", "the cloud is deleting the endpoint"),
        "failed" => Verdict::no(
            "Failed",
            format!(
                "the cloud could not create the endpoint{errors}; fix the spec (e.g. subnetId, portIp) or delete the object"
            ),
        ),
        other => Verdict::no(
            "Unknown",
            format!("the cloud reports the unknown status {other:?}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Time {
        Time(s.parse().unwrap())
    }

    #[test]
    fn transition_time_moves_only_when_the_status_flips() {
        let mut cs = Vec::new();
        set(
            &mut cs,
            READY,
            Verdict::no("Creating", "a"),
            Some(1),
            t("2026-01-01T00:00:00Z"),
        );
        set(
            &mut cs,
            READY,
            Verdict::no("PendingAcceptance", "b"),
            Some(2),
            t("2026-01-01T00:01:00Z"),
        );
        assert_eq!(cs.len(), 1);
        assert_eq!(cs[0].reason, "PendingAcceptance");
        assert_eq!(cs[0].observed_generation, Some(2));
        assert_eq!(cs[0].last_transition_time, t("2026-01-01T00:00:00Z"));
        set(
            &mut cs,
            READY,
            Verdict::yes("Accepted", "c"),
            Some(2),
            t("2026-01-01T00:02:00Z"),
        );
        assert_eq!(cs[0].status, "True");
        assert_eq!(cs[0].last_transition_time, t("2026-01-01T00:02:00Z"));
        assert!(is_true(&cs, READY));
    }

    #[test]
    fn conditions_stay_sorted_by_type() {
        let mut cs = Vec::new();
        set(
            &mut cs,
            SYNCED,
            Verdict::yes("ReconcileSuccess", ""),
            None,
            t("2026-01-01T00:00:00Z"),
        );
        set(
            &mut cs,
            READY,
            Verdict::yes("Available", ""),
            None,
            t("2026-01-01T00:00:00Z"),
        );
        assert_eq!(
            cs.iter().map(|c| c.type_.as_str()).collect::<Vec<_>>(),
            vec![READY, SYNCED]
        );
        assert!(!is_true(&cs, "Other"));
    }

    #[test]
    fn ready_follows_the_cloud_status() {
        assert!(service_ready("available", "").status);
        assert_eq!(service_ready("creating", "").reason, "Creating");
        assert!(
            service_ready("failed", ": EndPoint.3008 port not found")
                .message
                .contains("EndPoint.3008")
        );
        assert!(endpoint_ready("accepted", "").status);
        for (s, reason) in [
            ("pendingAcceptance", "PendingAcceptance"),
            ("rejected", "Rejected"),
            ("failed", "Failed"),
            ("deleting", "Deleting"),
            ("creating", "Creating"),
        ] {
            let v = endpoint_ready(s, "");
            assert!(!v.status);
            assert_eq!(v.reason, reason);
        }
    }
}
