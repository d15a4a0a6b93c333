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
}

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
        serde_json::from_value(merged).map_err(|e| e.to_string())
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
    }
}
