//! Domain identifiers, parsed once at the edge so inner code never handles raw strings.

use serde::{Deserialize, Serialize};
use std::fmt;

mod subscription;

pub use subscription::{
    AccessDecision, AccessPolicy, Currency, Money, OpenInvoice, PaymentState, PendingChange,
    PendingPayment, ProrationBehavior, Subscription, SubscriptionStatus, Timing, UnknownStatus,
};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {problem}")]
pub struct InvalidId {
    kind: &'static str,
    problem: &'static str,
}

impl InvalidId {
    pub(crate) fn new(kind: &'static str, problem: &'static str) -> Self {
        Self { kind, problem }
    }
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

/// How many seats: 1 to [`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i64);

/// A quantity outside 1 to [`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("quantity must be 1 to {}", Quantity::MAX)]
pub struct InvalidQuantity;

impl Quantity {
    pub const MAX: i64 = 10_000;
    pub const ONE: Self = Self(1);

    pub fn new(value: i64) -> Result<Self, InvalidQuantity> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidQuantity)
        }
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// The idempotency key sent to Stripe with a change. Every key this API sends is made here:
/// scoped by org and operation (Stripe's keys are account-wide, so two orgs' "abc" must never
/// meet), and a step of a multi-call change takes a key [`derived`](Self::derive) from its
/// request's key, so a retry of the whole request repeats every step under the same keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey {
    value: String,
    /// The client sent it (`Idempotency-Key`): a repeat of the request is a retry, not a mistake.
    from_client: bool,
}

impl IdempotencyKey {
    /// The key of one API request: `<org>:<operation>:<client key>`, or a fresh random key when
    /// the client sent none (which still makes our own retries of this request safe).
    pub fn for_request(org_id: &OrgId, operation: &str, client_key: Option<&str>) -> Self {
        let (key, from_client) = match client_key {
            Some(key) => (key.to_owned(), true),
            None => (uuid::Uuid::new_v4().to_string(), false),
        };
        Self {
            value: format!("{org_id}:{operation}:{key}"),
            from_client,
        }
    }

    /// The org's customer creation. Derived from the org (and, after a deletion, the deleted
    /// customer it replaces) alone, so every attempt for the org — concurrent, retried, or after
    /// a crash — is one request to Stripe, and a re-link is a new request rather than a replay of
    /// the deleted customer.
    pub fn customer_creation(org_id: &OrgId, replacing: Option<&StripeCustomerId>) -> Self {
        let value = match replacing {
            None => format!("billing-customer:{org_id}"),
            Some(deleted) => format!("billing-customer:{org_id}:after:{deleted}"),
        };
        Self {
            value,
            from_client: false,
        }
    }

    /// The org's `starts`-th subscription start: concurrent or retried starts send one request,
    /// and only a start after the previous subscription has ended sends a new one.
    pub fn subscription_start(org_id: &OrgId, starts: u32) -> Self {
        Self {
            value: format!("{org_id}:subscription-start:{starts}"),
            from_client: false,
        }
    }

    /// The key of one step of this request (`<key>:<step>`).
    pub fn derive(&self, step: &str) -> Self {
        Self {
            value: format!("{}:{step}", self.value),
            from_client: self.from_client,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// A key as given, for tests that check what reaches Stripe.
    #[cfg(test)]
    pub fn raw(value: &str) -> Self {
        Self {
            value: value.to_owned(),
            from_client: false,
        }
    }

    /// Whether the client sent the key, so a repeated request is a deliberate retry.
    pub fn is_from_client(&self) -> bool {
        self.from_client
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

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
