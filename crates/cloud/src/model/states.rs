//! The closed vocabularies of the API (statuses, service and server types) as enums. Each keeps
//! an `Unknown` case holding the value as sent, so that a value a newer cloud adds is carried
//! through (and shown to a person) instead of failing the whole answer.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $wire:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this client does not know, as the cloud sent it.
            Unknown(String),
        }

        impl $name {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $($wire => Self::$variant,)+
                    other => Self::Unknown(other.to_string()),
                }
            }
        }

        impl Default for $name {
            /// An answer without the field.
            fn default() -> Self {
                Self::Unknown(String::new())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Self::from(String::deserialize(d)?.as_str()))
            }
        }
    };
}

wire_enum! {
    /// The status of an endpoint service.
    ServiceStatus {
        Creating = "creating",
        Available = "available",
        Failed = "failed",
        Deleting = "deleting",
    }
}

wire_enum! {
    /// The status of an endpoint, also the status of a connection as its service sees it.
    EndpointStatus {
        PendingAcceptance = "pendingAcceptance",
        Creating = "creating",
        Accepted = "accepted",
        Rejected = "rejected",
        Failed = "failed",
        Deleting = "deleting",
    }
}

wire_enum! {
    /// What a service offers: an interface (an IP in the consumer's subnet) or a gateway (routes).
    ServiceType {
        Interface = "interface",
        Gateway = "gateway",
    }
}

wire_enum! {
    /// The kind of backend behind a service.
    ServerType {
        Vm = "VM",
        Lb = "LB",
        Vip = "VIP",
        Bms = "BMS",
    }
}

wire_enum! {
    /// One entry of an endpoint's `active_status`: usable, or frozen by the cloud (arrears, real
    /// name verification, police or legal reasons, a partner's freeze).
    ActiveStatus {
        Active = "active",
        Frozen = "frozen",
        ArrearFrozen = "arrear_frozen",
        VerifyFrozen = "verify_frozen",
        PoliceFrozen = "police_frozen",
        IllegalFrozen = "illegal_frozen",
        PartnerFrozen = "partner_frozen",
    }
}

impl ActiveStatus {
    /// Whether the cloud froze the endpoint: it exists but carries no traffic. A value this
    /// client does not know counts as frozen when it says so (a new `*_frozen` reason).
    pub fn is_frozen(&self) -> bool {
        match self {
            Self::Active => false,
            Self::Unknown(other) => other.contains("frozen"),
            _ => true,
        }
    }
}

impl ServiceStatus {
    /// Whether the cloud is still moving the service to another status on its own.
    pub fn is_transitional(&self) -> bool {
        matches!(self, Self::Creating | Self::Deleting)
    }
}

impl EndpointStatus {
    /// Whether the cloud is still moving the endpoint to another status on its own.
    pub fn is_transitional(&self) -> bool {
        matches!(self, Self::Creating | Self::Deleting)
    }

    /// Whether the endpoint holds a connection to its service (the cloud refuses to delete a
    /// service while one does).
    pub fn is_connected(&self) -> bool {
        matches!(self, Self::Accepted | Self::Creating)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip_and_unknown_ones_are_kept() {
        for s in ["pendingAcceptance", "accepted", "deleting"] {
            let status: EndpointStatus = serde_json::from_str(&format!("{s:?}")).unwrap();
            assert!(!matches!(status, EndpointStatus::Unknown(_)), "{s}");
            assert_eq!(serde_json::to_string(&status).unwrap(), format!("{s:?}"));
        }
        let frozen: ServiceStatus = serde_json::from_str("\"frozen\"").unwrap();
        assert_eq!(frozen, ServiceStatus::Unknown("frozen".into()));
        assert_eq!(frozen.to_string(), "frozen");
        assert_eq!(ServerType::from("VIP"), ServerType::Vip);
        assert_eq!(ServiceType::from("gateway").as_str(), "gateway");
    }

    #[test]
    fn every_frozen_state_is_frozen_and_active_is_not() {
        assert!(!ActiveStatus::from("active").is_frozen());
        for s in [
            "frozen",
            "arrear_frozen",
            "verify_frozen",
            "police_frozen",
            "illegal_frozen",
            "partner_frozen",
            "quota_frozen",
        ] {
            assert!(ActiveStatus::from(s).is_frozen(), "{s}");
        }
        assert!(!ActiveStatus::from("").is_frozen());
    }
}
