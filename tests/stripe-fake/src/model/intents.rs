//! What PaymentIntents and SetupIntents share: the statuses that can still be confirmed, Stripe's
//! refusals to confirm, the errors a failed attempt leaves on the intent, and the fake's 3D Secure
//! challenge (its `next_action`, and when `POST /_fake/<object>s/:id/authenticate` may complete it).

use serde_json::{Value, json};

use super::error::ApiError;

/// One of the two intent types: the same rules, Stripe's names differ.
pub struct Kind {
    /// The name in messages: `PaymentIntent`, `SetupIntent`.
    pub name: &'static str,
    /// The object's name: `payment_intent`, `setup_intent` (also its key in an error, and the
    /// control API's path `/_fake/<object>s`).
    pub object: &'static str,
    /// The `code` of a refusal because of the intent's status.
    pub unexpected_state: &'static str,
    authentication_failure: &'static str,
}

pub const PAYMENT_INTENT: Kind = Kind {
    name: "PaymentIntent",
    object: "payment_intent",
    unexpected_state: "payment_intent_unexpected_state",
    authentication_failure: "payment_intent_authentication_failure",
};

pub const SETUP_INTENT: Kind = Kind {
    name: "SetupIntent",
    object: "setup_intent",
    unexpected_state: "setup_intent_unexpected_state",
    authentication_failure: "setup_intent_authentication_failure",
};

/// Statuses from which an intent can still be confirmed (and a SetupIntent canceled).
pub const PENDING: &[&str] = &[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
];

/// Why the control API could not complete a 3D Secure challenge.
pub enum AuthenticateError {
    NotFound,
    Conflict(String),
}

/// A failed attempt's `last_payment_error` / `last_setup_error`: Stripe's error plus the payment
/// method it was about (when there is one) and its type.
pub fn last_error(mut error: Value, payment_method: Option<&Value>) -> Value {
    if let Some(method) = payment_method {
        error["payment_method"] = method.clone();
    }
    error["payment_method_type"] = json!("card");
    error
}

impl Kind {
    /// Only an intent still waiting for its payment (`PENDING`) can be confirmed.
    pub fn check_confirmable(&self, intent: &Value) -> Result<(), ApiError> {
        let status = intent["status"].as_str().unwrap_or_default();
        if PENDING.contains(&status) {
            return Ok(());
        }
        let name = self.name;
        let message = if status == "succeeded" {
            format!(
                "You cannot confirm this {name} because it has already succeeded after being \
                 previously confirmed."
            )
        } else {
            format!(
                "You cannot confirm this {name} because it has a status of {status}. Only a \
                 {name} with one of the following statuses may be confirmed: \
                 requires_payment_method, requires_confirmation, requires_action."
            )
        };
        Err(ApiError::unexpected_state(self.unexpected_state, message).object(self.object, intent))
    }

    pub fn missing_payment_method(&self) -> ApiError {
        let name = self.name;
        ApiError::unexpected_state(
            self.unexpected_state,
            format!(
                "You cannot confirm this {name} because it's missing a payment method. You can \
                 either update the {name} with a payment method and then confirm it again, or \
                 confirm it again directly with a payment method."
            ),
        )
        .param("payment_method")
    }

    /// The `next_action` of an intent in `requires_action`: a `use_stripe_sdk` challenge that
    /// the fake's own page completes.
    pub fn three_d_secure(&self, base_url: &str, id: &str, payment_method: Option<&str>) -> Value {
        json!({
            "type": "use_stripe_sdk",
            "use_stripe_sdk": {
                "type": "three_d_secure_redirect",
                "stripe_js": format!("{base_url}/_fake/{}s/{id}/authenticate", self.object),
                "source": payment_method,
            }
        })
    }

    /// The error a failed 3D Secure challenge leaves (before [`last_error`] adds the method).
    pub fn authentication_failure(&self) -> Value {
        let code = self.authentication_failure;
        json!({
            "code": code,
            "doc_url": format!("https://stripe.com/docs/error-codes/{}", code.replace('_', "-")),
            "message": "We are unable to authenticate your payment method. Please choose a \
                        different payment method and try again.",
            "type": "invalid_request_error",
        })
    }

    /// The intent whose challenge the control API is asked to complete: it must exist and wait
    /// in `requires_action`.
    pub fn awaiting_authentication(
        &self,
        intent: Option<&Value>,
        id: &str,
    ) -> Result<Value, AuthenticateError> {
        let intent = intent.cloned().ok_or(AuthenticateError::NotFound)?;
        if intent["status"] != "requires_action" {
            return Err(AuthenticateError::Conflict(format!(
                "{} {id} is {}, not requires_action",
                self.object.replace('_', " "),
                intent["status"]
            )));
        }
        Ok(intent)
    }
}
