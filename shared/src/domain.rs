//! Domain identifiers, parsed once at the edge so inner code never handles raw strings.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {problem}")]
pub struct InvalidId {
    kind: &'static str,
    problem: &'static str,
}

fn check_token(kind: &'static str, value: &str, max_len: usize) -> Result<(), InvalidId> {
    if value.is_empty() {
        return Err(InvalidId {
            kind,
            problem: "is empty",
        });
    }
    if value.len() > max_len {
        return Err(InvalidId {
            kind,
            problem: "is too long",
        });
    }
    // A closed alphabet keeps ids safe to embed in Stripe search queries, keys and logs.
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'@'))
    {
        return Err(InvalidId {
            kind,
            problem: "has characters outside [A-Za-z0-9_-.:@]",
        });
    }
    Ok(())
}

macro_rules! token_id {
    ($(#[$doc:meta])* $name:ident, $kind:literal, $max:expr, prefix = $prefix:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: impl Into<String>) -> Result<Self, InvalidId> {
                let value = value.into();
                check_token($kind, &value, $max)?;
                let prefix: &str = $prefix;
                if !value.starts_with(prefix) || value.len() == prefix.len() {
                    return Err(InvalidId { kind: $kind, problem: "has the wrong prefix" });
                }
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(value)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

token_id!(
    /// The tenant: always taken from the verified principal, never from a path or body.
    OrgId, "org id", 128, prefix = ""
);
token_id!(
    /// The signed-in user, from the token's subject claim.
    UserId, "user id", 256, prefix = ""
);
token_id!(
    /// A Stripe customer (`cus_…`).
    StripeCustomerId, "stripe customer id", 255, prefix = "cus_"
);
token_id!(
    /// A Stripe subscription (`sub_…`).
    SubscriptionId, "subscription id", 255, prefix = "sub_"
);
token_id!(
    /// A plan: the `lookup_key` of a Stripe price in the configured catalogue.
    PlanKey, "plan", 200, prefix = ""
);
token_id!(
    /// A Stripe payment method (`pm_…`).
    PaymentMethodId, "payment method id", 255, prefix = "pm_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn org_ids_accept_the_usual_shapes() {
        for ok in [
            "org_123",
            "acme-corp",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "a",
        ] {
            assert!(OrgId::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn org_ids_refuse_quotes_spaces_and_empty() {
        for bad in ["", "a b", "x'y", "x\"y", "é", &"a".repeat(129)] {
            assert!(OrgId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stripe_customer_ids_need_their_prefix() {
        assert!(StripeCustomerId::parse("cus_Abc123").is_ok());
        assert!(StripeCustomerId::parse("cus_").is_err());
        assert!(StripeCustomerId::parse("pm_123").is_err());
    }

    #[test]
    fn ids_round_trip_through_serde() {
        let id: StripeCustomerId = serde_json::from_str("\"cus_1\"").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"cus_1\"");
        assert!(serde_json::from_str::<StripeCustomerId>("\"x\"").is_err());
    }
}
