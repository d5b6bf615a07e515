//! `Ready` and `Synced` conditions: computed from what the cloud reports and how the last
//! reconcile ended. `lastTransitionTime` moves only when a condition's status flips, so a status
//! written twice with the same facts is byte-identical.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub const READY: &str = "Ready";
pub const SYNCED: &str = "Synced";
/// Endpoints with `spec.publish`: whether the Service and ConfigMap are in place.
pub const PUBLISHED: &str = "Published";

macro_rules! reasons {
    ($($(#[$meta:meta])* $variant:ident,)+) => {
        /// The reason of a condition: a short CamelCase word that tools (Argo CD's health check in
        /// deploy/argocd/health.lua, alerts) match on, and the label of the failure metric.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[$meta])* $variant,)+
        }

        impl Reason {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => stringify!($variant),)+
                }
            }

            /// The reason a stored condition carries, if it is one of ours.
            pub fn parse(reason: &str) -> Option<Reason> {
                match reason {
                    $(stringify!($variant) => Some(Reason::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    // Ready, from the cloud status.
    Available,
    Accepted,
    Creating,
    PendingAcceptance,
    Rejected,
    Failed,
    Deleting,
    /// The cloud froze the endpoint (`active_status`): it carries no traffic.
    Frozen,
    /// The cloud reports a status this operator does not know.
    Unknown,
    // Synced: success, or the category of the error (see error.rs).
    ReconcileSuccess,
    InvalidSpec,
    CredentialsError,
    Throttled,
    CloudRejected,
    QuotaExceeded,
    Forbidden,
    Conflict,
    NotFound,
    CloudError,
    DependencyNotReady,
    DeletionBlocked,
    /// The cloud object belongs to another Kubernetes object.
    AdoptionRefused,
    /// The object's namespace may not use the CloudAccount.
    AccountNotAllowed,
    /// The endpoint is being replaced (`recreateOnChange`).
    Replacing,
    /// The endpoint created to replace the old one was rejected or failed.
    ReplacementFailed,
    /// Never recorded: a reconcile that waits for its account's next inventory listing
    /// (`Error::Listing`), in logs only.
    Listing,
    // CloudAccount Ready.
    /// The credentials were verified by a cheap read.
    Verified,
    /// The account's Secret is missing or incomplete, or the cloud refused its credentials.
    CredentialsInvalid,
    /// IAM refused to exchange the workload's ID token.
    IdentityExchangeFailed,
    KubernetesError,
    // Published.
    Published,
    NotPublished,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One condition's content, before timestamps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: bool,
    pub reason: Reason,
    pub message: String,
}

impl Verdict {
    pub fn yes(reason: Reason, message: impl Into<String>) -> Self {
        Verdict {
            status: true,
            reason,
            message: message.into(),
        }
    }

    pub fn no(reason: Reason, message: impl Into<String>) -> Self {
        Verdict {
            status: false,
            reason,
            message: message.into(),
        }
    }
}

/// The most bytes of a condition message or an event note (the API server takes event notes of
/// up to 1 KiB): messages carry the cloud's error text, which the operator does not control.
pub const MAX_MESSAGE_BYTES: usize = 1000;
const TRUNCATED: &str = " … (truncated)";

/// `text` cut to at most [`MAX_MESSAGE_BYTES`] on a character boundary, marked when cut.
pub fn truncate(mut text: String) -> String {
    if text.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES - TRUNCATED.len();
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(TRUNCATED);
    }
    text
}

/// Sets condition `type_` in `conditions`, keeping its transition time unless the status flips;
/// the message is [`truncate`]d.
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
        reason: verdict.reason.as_str().to_string(),
        message: truncate(verdict.message),
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

/// The reason of condition `type_`, if present and one of ours.
pub fn reason(conditions: &[Condition], type_: &str) -> Option<Reason> {
    get(conditions, type_).and_then(|c| Reason::parse(&c.reason))
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
            Verdict::no(Reason::Creating, "a"),
            Some(1),
            t("2026-01-01T00:00:00Z"),
        );
        set(
            &mut cs,
            READY,
            Verdict::no(Reason::PendingAcceptance, "b"),
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
            Verdict::yes(Reason::Accepted, "c"),
            Some(2),
            t("2026-01-01T00:02:00Z"),
        );
        assert_eq!(cs[0].status, "True");
        assert_eq!(cs[0].last_transition_time, t("2026-01-01T00:02:00Z"));
        assert!(is_true(&cs, READY));
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        assert_eq!(truncate("short".into()), "short");
        let exact = "x".repeat(MAX_MESSAGE_BYTES);
        assert_eq!(truncate(exact.clone()), exact);
        for long in ["x".repeat(5_000_000), "é".repeat(3000), "🦀".repeat(700)] {
            let cut = truncate(long.clone());
            assert!(cut.len() <= MAX_MESSAGE_BYTES, "{}", cut.len());
            assert!(cut.ends_with(TRUNCATED));
            assert!(long.starts_with(cut.trim_end_matches(TRUNCATED)));
        }
        let mut cs = Vec::new();
        set(
            &mut cs,
            SYNCED,
            Verdict::no(Reason::CloudError, "e".repeat(10_000)),
            None,
            t("2026-01-01T00:00:00Z"),
        );
        assert!(cs[0].message.len() <= MAX_MESSAGE_BYTES);
    }

    #[test]
    fn conditions_stay_sorted_by_type() {
        let mut cs = Vec::new();
        set(
            &mut cs,
            SYNCED,
            Verdict::yes(Reason::ReconcileSuccess, ""),
            None,
            t("2026-01-01T00:00:00Z"),
        );
        set(
            &mut cs,
            READY,
            Verdict::yes(Reason::Available, ""),
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
    fn reasons_read_back_as_written() {
        let mut cs = Vec::new();
        set(
            &mut cs,
            READY,
            Verdict::no(Reason::Deleting, "d"),
            None,
            t("2026-01-01T00:00:00Z"),
        );
        assert_eq!(cs[0].reason, "Deleting");
        assert_eq!(reason(&cs, READY), Some(Reason::Deleting));
        assert_eq!(reason(&cs, SYNCED), None);
        assert_eq!(Reason::parse("SomethingElse"), None);
    }
}
