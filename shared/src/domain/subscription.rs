//! The subscription as the API knows it, in its own terms: status, plan, pending change, money.

use super::{PlanKey, SubscriptionId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Stripe's subscription statuses (API 2026-09-30).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubscriptionStatus {
    Incomplete,
    IncompleteExpired,
    Trialing,
    Active,
    PastDue,
    Canceled,
    Unpaid,
    Paused,
}

/// A status Stripe did not document when this was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown subscription status {0:?}")]
pub struct UnknownStatus(pub String);

impl SubscriptionStatus {
    pub fn parse(value: &str) -> Result<Self, UnknownStatus> {
        serde_json::from_value(serde_json::Value::String(value.to_owned()))
            .map_err(|_| UnknownStatus(value.to_owned()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::IncompleteExpired => "incomplete_expired",
            Self::Trialing => "trialing",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
            Self::Unpaid => "unpaid",
            Self::Paused => "paused",
        }
    }

    /// Ended subscriptions can no longer be changed; a new one may be started.
    pub fn has_ended(self) -> bool {
        matches!(self, Self::Canceled | Self::IncompleteExpired)
    }

    /// Active, trialing or past due: invoices are coming and need a payment method.
    pub fn is_billing(self) -> bool {
        matches!(self, Self::Active | Self::Trialing | Self::PastDue)
    }
}

impl fmt::Display for SubscriptionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A plan change waiting for the period end (a subscription schedule's next phase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    /// `None` for a price outside the configured catalogue.
    pub plan: Option<PlanKey>,
    pub quantity: i64,
    /// Unix seconds: the current period's end.
    pub effective_at: i64,
}

/// A plan change made now whose invoice is not paid yet (Stripe's pending update): the old plan
/// stays in force; paying the invoice applies the change, and it lapses at `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPayment {
    /// `None` for a price outside the configured catalogue.
    pub plan: Option<PlanKey>,
    pub quantity: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// The open invoice whose payment applies the change.
    pub invoice_id: Option<String>,
}

/// The subscription's latest invoice while it is unpaid (open, or uncollectible after Stripe's
/// retries, which can still be paid): what the org owes now and Stripe's plan to collect it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInvoice {
    pub id: String,
    /// The number the customer sees (set when Stripe finalizes the invoice).
    pub number: Option<String>,
    pub amount_due: Money,
    /// Marked uncollectible when the retries ended (an account setting).
    pub uncollectible: bool,
    /// Unix seconds of Stripe's next automatic attempt; `None` when Stripe plans none (retries
    /// are over, or the invoice waits for the customer).
    pub next_payment_attempt: Option<i64>,
    pub hosted_invoice_url: Option<String>,
}

/// The org's subscription as the API shows it (single-item subscriptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub id: SubscriptionId,
    /// `None` for a price outside the configured catalogue.
    pub plan: Option<PlanKey>,
    pub status: SubscriptionStatus,
    pub quantity: i64,
    /// Unix seconds, from the subscription item (where Stripe keeps periods since 2025).
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub scheduled_change: Option<PendingChange>,
    pub pending_payment: Option<PendingPayment>,
    pub open_invoice: Option<OpenInvoice>,
}

/// Where the subscription's payments stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentState {
    Ok,
    /// The first payment waits for the customer (authentication or a card).
    ActionRequired,
    /// A renewal failed; Stripe retries it.
    PastDue,
    /// Stripe's retries are over and the invoice stays unpaid.
    Unpaid,
}

/// What the app should let the org use, by [`AccessPolicy`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessDecision {
    Full,
    /// Past due, still usable until this Unix second.
    Grace {
        until: i64,
    },
    Blocked,
}

/// The documented access policy: active and trialing subscriptions have full access; a past-due
/// one keeps it for `past_due_grace_days` after its current period started (the renewal that
/// failed); anything else (incomplete, unpaid, ended, paused) is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccessPolicy {
    pub past_due_grace_days: u32,
}

impl Subscription {
    pub fn payment_state(&self) -> PaymentState {
        match self.status {
            SubscriptionStatus::Incomplete => PaymentState::ActionRequired,
            SubscriptionStatus::PastDue => PaymentState::PastDue,
            SubscriptionStatus::Unpaid => PaymentState::Unpaid,
            _ => PaymentState::Ok,
        }
    }

    /// The access decision at `now` (Unix seconds).
    pub fn access(&self, policy: AccessPolicy, now: i64) -> AccessDecision {
        match self.status {
            SubscriptionStatus::Active | SubscriptionStatus::Trialing => AccessDecision::Full,
            SubscriptionStatus::PastDue => {
                let until =
                    self.current_period_start + i64::from(policy.past_due_grace_days) * 86_400;
                if now < until {
                    AccessDecision::Grace { until }
                } else {
                    AccessDecision::Blocked
                }
            }
            _ => AccessDecision::Blocked,
        }
    }

    /// A plan change, its preview, cancel and resume can be asked for now.
    pub fn can_change_plan(&self) -> bool {
        self.status.is_billing()
    }

    /// An upcoming invoice exists: billing, and not ending at the period end.
    pub fn has_upcoming_invoice(&self) -> bool {
        self.status.is_billing() && !self.cancel_at_period_end
    }
}

/// When a plan change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Timing {
    #[default]
    Immediate,
    PeriodEnd,
}

/// How Stripe prorates a change now (its own three choices, by their API names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProrationBehavior {
    CreateProrations,
    AlwaysInvoice,
    None,
}

impl ProrationBehavior {
    /// Stripe's name for it, which every request type that takes one parses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateProrations => "create_prorations",
            Self::AlwaysInvoice => "always_invoice",
            Self::None => "none",
        }
    }
}

/// An ISO 4217 currency code, lowercase as Stripe writes it (`usd`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Currency(String);

impl Currency {
    pub fn parse(value: &str) -> Result<Self, super::InvalidId> {
        let code = value.to_ascii_lowercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_lowercase()) {
            Ok(Self(code))
        } else {
            Err(super::InvalidId::new(
                "currency",
                "is not a three-letter code",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount of money: integer minor units (cents) of a currency, never a float.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub minor_units: i64,
    pub currency: Currency,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_as_stripe_writes_them() {
        for status in [
            SubscriptionStatus::Incomplete,
            SubscriptionStatus::IncompleteExpired,
            SubscriptionStatus::Trialing,
            SubscriptionStatus::Active,
            SubscriptionStatus::PastDue,
            SubscriptionStatus::Canceled,
            SubscriptionStatus::Unpaid,
            SubscriptionStatus::Paused,
        ] {
            assert_eq!(SubscriptionStatus::parse(status.as_str()), Ok(status));
        }
        assert!(SubscriptionStatus::parse("frozen").is_err());
    }

    fn in_status(status: SubscriptionStatus) -> Subscription {
        Subscription {
            id: SubscriptionId::parse("sub_1").unwrap(),
            plan: None,
            status,
            quantity: 1,
            current_period_start: 1_000_000,
            current_period_end: 1_000_000 + 30 * 86_400,
            cancel_at_period_end: false,
            scheduled_change: None,
            pending_payment: None,
            open_invoice: None,
        }
    }

    #[test]
    fn past_due_keeps_access_for_the_grace_days_after_the_failed_renewal_then_blocks() {
        let policy = AccessPolicy {
            past_due_grace_days: 7,
        };
        let renewal = 1_000_000;
        let past_due = in_status(SubscriptionStatus::PastDue);
        let until = renewal + 7 * 86_400;
        assert_eq!(
            past_due.access(policy, renewal + 1),
            AccessDecision::Grace { until }
        );
        assert_eq!(past_due.access(policy, until), AccessDecision::Blocked);
        assert_eq!(past_due.payment_state(), PaymentState::PastDue);
        let no_grace = AccessPolicy {
            past_due_grace_days: 0,
        };
        assert_eq!(past_due.access(no_grace, renewal), AccessDecision::Blocked);
        for (status, access, state) in [
            (
                SubscriptionStatus::Active,
                AccessDecision::Full,
                PaymentState::Ok,
            ),
            (
                SubscriptionStatus::Trialing,
                AccessDecision::Full,
                PaymentState::Ok,
            ),
            (
                SubscriptionStatus::Incomplete,
                AccessDecision::Blocked,
                PaymentState::ActionRequired,
            ),
            (
                SubscriptionStatus::Unpaid,
                AccessDecision::Blocked,
                PaymentState::Unpaid,
            ),
            (
                SubscriptionStatus::Canceled,
                AccessDecision::Blocked,
                PaymentState::Ok,
            ),
            (
                SubscriptionStatus::Paused,
                AccessDecision::Blocked,
                PaymentState::Ok,
            ),
        ] {
            let subscription = in_status(status);
            assert_eq!(subscription.access(policy, renewal + 1), access, "{status}");
            assert_eq!(subscription.payment_state(), state, "{status}");
        }
    }

    #[test]
    fn currencies_are_three_lowercase_letters() {
        assert_eq!(Currency::parse("USD").unwrap().as_str(), "usd");
        for bad in ["", "us", "usdx", "u$d"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }
}
