//! Switches for behaviours SEMANTICS.md marks UNCONFIRMED. Each default is the best guess; tests
//! flip a switch to check that the product copes with the alternative too.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ErrorType;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviours {
    /// `type` of the 409 `idempotency_key_in_use` error (SEMANTICS §1: the code is documented,
    /// the type is not; `idempotency_error` is the likely one).
    pub idempotency_in_use_type: ErrorType,
    /// Detaching a customer's default payment method nulls
    /// `invoice_settings.default_payment_method` (and emits `customer.updated`). SEMANTICS §4:
    /// UNCONFIRMED.
    pub detach_clears_default: bool,
    /// The account has redirect-based payment methods enabled, so a server-side SetupIntent
    /// confirm with `automatic_payment_methods` (allow_redirects ≠ never) needs a `return_url`.
    /// OBS for PaymentIntents (the error text names Setup Intents too); depends on the account.
    pub confirm_requires_return_url: bool,
    /// `cancel_at_period_end=true` also sets `cancel_at` to the period end (SEMANTICS §5:
    /// UNCONFIRMED whether endive fills it).
    pub cancel_at_period_end_sets_cancel_at: bool,
    /// A subscription invoice that needs charging when the customer has no payment method:
    /// `false` (the brief's model) makes the subscription `incomplete` / `past_due` under
    /// `allow_incomplete`; `true` refuses the request with Stripe's 400 "This customer has no
    /// attached payment source or default payment method…" (OBS in third-party reports).
    pub missing_payment_method_fails_request: bool,
    /// A schedule update whose current phase omits `trial_end` while the subscription is
    /// trialing. Stripe says an update unsets what it does not re-send and "you must specify the
    /// new `trial_end` on each phase" (SEMANTICS §13); the billing effect is UNCONFIRMED.
    pub schedule_update_without_trial_end: TrialOmitted,
    /// The account has saved its customer portal settings, so a portal session without
    /// `configuration` uses the default one. `false` reproduces a fresh account, where Stripe
    /// refuses such sessions (OBS: the message is quoted in many third-party projects).
    pub portal_default_configuration: bool,
    /// What an off-session charge (renewal, retry, `POST /v1/invoices/:id/pay` with the default
    /// `off_session=true`) of a card that needs 3D Secure does (SEMANTICS §13 "Test cards":
    /// `authentication_required` or `invoice_payment_intent_requires_action`, UNCONFIRMED).
    pub off_session_authentication: OffSessionAuthentication,
    /// Whether `pm_card_authenticationRequiredOnSetup` (…3155), once set up, still needs 3D
    /// Secure for on-session payments (SEMANTICS §13 "Test cards": Stripe's card table and
    /// payment method table disagree).
    pub set_up_card_on_session: SetUpCardOnSession,
    /// Days after an invoice's first failed automatic attempt on which it is retried (the
    /// account's retry settings; SEMANTICS §13 "Retries and dunning": Smart Retries' default is
    /// 8 tries within 2 weeks, the exact days are Stripe's own). Empty: no retries.
    pub retry_schedule_days: Vec<i64>,
    /// What the subscription does when the last retry fails (the account setting; SEMANTICS
    /// §13: `canceled`, `unpaid` or staying `past_due`; which is the default is UNCONFIRMED).
    pub after_last_retry: AfterLastRetry,
    /// What the invoice does when the last retry fails (the account setting: left past due, or
    /// marked uncollectible; the default is UNCONFIRMED).
    pub invoice_after_last_retry: InvoiceAfterLastRetry,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OffSessionAuthentication {
    /// The PaymentIntent waits in `requires_action`; `/pay` answers 402
    /// `invoice_payment_intent_requires_action` (OBS, stripe-node #628).
    RequiresAction,
    /// The charge declines with `authentication_required` (the PaymentIntent goes back to
    /// `requires_payment_method`).
    Declines,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SetUpCardOnSession {
    /// The payment method table: a set-up card "no longer requires authentication".
    Succeeds,
    /// The card table: on-session payments always need 3D Secure.
    RequiresAuthentication,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterLastRetry {
    Cancel,
    Unpaid,
    PastDue,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceAfterLastRetry {
    Open,
    Uncollectible,
}

/// Longest retry schedule a test may set (Stripe's custom schedules stay within weeks).
const MAX_RETRY_DAY: i64 = 60;

/// What omitting `trial_end` from a trialing subscription's current phase does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialOmitted {
    /// The strict reading: the trial ends at the update; the subscription becomes `active` and
    /// the new period's invoice is charged then.
    EndsTrial,
    /// The trial goes on as if `trial_end` had been re-sent.
    KeepsTrial,
}

impl Default for Behaviours {
    fn default() -> Self {
        Self {
            idempotency_in_use_type: ErrorType::Idempotency,
            detach_clears_default: true,
            confirm_requires_return_url: true,
            cancel_at_period_end_sets_cancel_at: true,
            missing_payment_method_fails_request: false,
            schedule_update_without_trial_end: TrialOmitted::EndsTrial,
            portal_default_configuration: true,
            off_session_authentication: OffSessionAuthentication::RequiresAction,
            set_up_card_on_session: SetUpCardOnSession::Succeeds,
            retry_schedule_days: vec![1, 3, 5, 7, 9, 11, 13, 14],
            after_last_retry: AfterLastRetry::Cancel,
            invoice_after_last_retry: InvoiceAfterLastRetry::Open,
        }
    }
}

impl Behaviours {
    /// Applies the fields of a JSON object; unknown names and bad values are refused.
    pub fn patched(&self, patch: Value) -> Result<Self, String> {
        let Value::Object(patch) = patch else {
            return Err("expected a JSON object".into());
        };
        let mut merged = serde_json::to_value(self).map_err(|e| e.to_string())?;
        for (name, value) in patch {
            merged[name] = value;
        }
        let patched: Self = serde_json::from_value(merged).map_err(|e| e.to_string())?;
        let days = &patched.retry_schedule_days;
        let increasing = days.windows(2).all(|pair| pair[0] < pair[1]);
        if !increasing || days.iter().any(|d| !(1..=MAX_RETRY_DAY).contains(d)) {
            return Err(format!(
                "retry_schedule_days must be increasing days between 1 and {MAX_RETRY_DAY}"
            ));
        }
        Ok(patched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patches_known_fields_only() {
        let base = Behaviours::default();
        let patched = base.patched(json!({"idempotency_in_use_type": "invalid_request_error"}));
        assert_eq!(
            patched.map(|b| b.idempotency_in_use_type),
            Ok(ErrorType::InvalidRequest)
        );
        assert!(base.patched(json!({"no_such_switch": true})).is_err());
        assert!(
            base.patched(json!({"idempotency_in_use_type": "nope"}))
                .is_err()
        );
        assert!(
            base.patched(json!({"retry_schedule_days": [3, 1]}))
                .is_err()
        );
        assert!(base.patched(json!({"retry_schedule_days": [0]})).is_err());
        assert!(base.patched(json!({"retry_schedule_days": []})).is_ok());
    }
}
