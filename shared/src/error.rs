//! The one error type of the API and its single mapping to HTTP status + JSON envelope.

use crate::secrets::SecretError;
use crate::store::StoreError;
use crate::stripe::GatewayError;
use http::StatusCode;
use serde::Serialize;

/// Every way a billing request can fail. Upstream details stay in the source chain (logged once
/// by [`crate::http`]); clients see only the stable code and a generic message.
#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("billing is not enabled")]
    BillingDisabled,
    #[error("missing or malformed principal")]
    Unauthenticated,
    #[error("this role may not perform this action")]
    Forbidden,
    #[error("the request body is not valid JSON")]
    InvalidJson,
    #[error("{0}")]
    InvalidRequest(String),
    #[error("the request body is too large")]
    PayloadTooLarge,
    #[error("this organisation has no billing customer yet")]
    CustomerNotFound,
    #[error("no such payment method on this organisation's billing account")]
    PaymentMethodNotFound,
    #[error("payment method ids look like pm_…")]
    InvalidPaymentMethodId,
    #[error("return_url must be an https URL on the application's origin")]
    InvalidReturnUrl,
    #[error("Idempotency-Key must be 1 to 200 visible ASCII characters")]
    InvalidIdempotencyKey,
    #[error("this organisation has no subscription")]
    SubscriptionNotFound,
    #[error("this organisation already has a subscription")]
    SubscriptionExists,
    #[error("the subscription has ended; start a new one")]
    SubscriptionEnded,
    #[error("unknown plan")]
    UnknownPlan,
    #[error("the subscription is already on this plan and quantity")]
    PlanUnchanged,
    #[error("the subscription ends at the period end; resume it before scheduling a plan change")]
    CancellationPending,
    #[error("proration_date must fall within the current billing period")]
    InvalidProrationDate,
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyConflict,
    #[error("the subscription needs a payment method: add another card before removing this one")]
    DefaultPaymentMethodRequired,
    #[error("missing or invalid Stripe-Signature")]
    InvalidSignature,
    #[error("the event payload is not a Stripe event")]
    InvalidPayload,
    #[error("another delivery of this event is being applied; retry later")]
    EventInProgress,
    /// Stripe's `decline_code`, for the client; the card-security ones read `generic_decline`.
    #[error("the payment was declined")]
    PaymentFailed { decline_code: Option<String> },
    #[error("a plan change is waiting for its invoice to be paid; pay it or let it lapse first")]
    PaymentPending,
    #[error("no such invoice on this organisation's billing account")]
    InvoiceNotFound,
    #[error("the invoice is not open for payment (paid, void or draft)")]
    InvoiceNotPayable,
    #[error("the payment provider is temporarily unavailable")]
    StripeUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the payment provider refused the request")]
    StripeRejected(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("billing storage is temporarily unavailable")]
    StoreUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Decline codes Stripe advises not to show the customer (they describe the card's security
/// status): the customer reads `generic_decline` instead.
const UNDISCLOSED_DECLINES: &[&str] = &[
    "fraudulent",
    "lost_card",
    "stolen_card",
    "pickup_card",
    "restricted_card",
    "security_violation",
    "merchant_blacklist",
];

impl BillingError {
    /// A declined payment, with the bank's `decline_code` as the customer may see it.
    pub fn payment_failed(decline_code: Option<String>) -> Self {
        let decline_code = decline_code.map(|code| {
            if UNDISCLOSED_DECLINES.contains(&code.as_str()) {
                "generic_decline".to_owned()
            } else {
                code
            }
        });
        Self::PaymentFailed { decline_code }
    }

    /// The stable, documented code clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BillingDisabled => "billing_disabled",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::InvalidJson => "invalid_json",
            Self::InvalidRequest(_) => "invalid_request",
            Self::PayloadTooLarge => "payload_too_large",
            Self::CustomerNotFound => "customer_not_found",
            Self::PaymentMethodNotFound => "payment_method_not_found",
            Self::InvalidPaymentMethodId => "invalid_payment_method_id",
            Self::InvalidReturnUrl => "invalid_return_url",
            Self::InvalidIdempotencyKey => "invalid_idempotency_key",
            Self::SubscriptionNotFound => "subscription_not_found",
            Self::SubscriptionExists => "subscription_exists",
            Self::SubscriptionEnded => "subscription_canceled",
            Self::UnknownPlan => "unknown_plan",
            Self::PlanUnchanged => "plan_unchanged",
            Self::CancellationPending => "cancellation_pending",
            Self::InvalidProrationDate => "invalid_proration_date",
            Self::IdempotencyConflict => "idempotency_conflict",
            Self::DefaultPaymentMethodRequired => "default_payment_method_required",
            Self::InvalidSignature => "invalid_signature",
            Self::InvalidPayload => "invalid_payload",
            Self::EventInProgress => "event_in_progress",
            Self::PaymentFailed { .. } => "payment_failed",
            Self::PaymentPending => "payment_pending",
            Self::InvoiceNotFound => "invoice_not_found",
            Self::InvoiceNotPayable => "invoice_not_payable",
            Self::StripeUnavailable(_) => "stripe_unavailable",
            Self::StripeRejected(_) => "stripe_error",
            Self::StoreUnavailable(_) => "store_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson
            | Self::InvalidRequest(_)
            | Self::InvalidPaymentMethodId
            | Self::InvalidReturnUrl
            | Self::InvalidIdempotencyKey
            | Self::UnknownPlan
            | Self::InvalidProrationDate
            | Self::InvalidSignature
            | Self::InvalidPayload => StatusCode::BAD_REQUEST,
            Self::SubscriptionExists
            | Self::SubscriptionEnded
            | Self::PlanUnchanged
            | Self::CancellationPending
            | Self::IdempotencyConflict
            | Self::DefaultPaymentMethodRequired
            | Self::EventInProgress
            | Self::PaymentPending
            | Self::InvoiceNotPayable => StatusCode::CONFLICT,
            Self::PaymentFailed { .. } => StatusCode::PAYMENT_REQUIRED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::BillingDisabled
            | Self::CustomerNotFound
            | Self::PaymentMethodNotFound
            | Self::SubscriptionNotFound
            | Self::InvoiceNotFound => StatusCode::NOT_FOUND,
            Self::StripeRejected(_) => StatusCode::BAD_GATEWAY,
            Self::StripeUnavailable(_) | Self::StoreUnavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds a client should wait before retrying, for transient failures.
    pub fn retry_after_seconds(&self) -> Option<u32> {
        match self {
            Self::StripeUnavailable(_) | Self::StoreUnavailable(_) => Some(2),
            _ => None,
        }
    }

    /// Upstream and internal failures are ours, not the caller's: they are logged with their chain.
    pub fn is_server_fault(&self) -> bool {
        self.status().is_server_error()
    }

    pub fn envelope(&self, request_id: &str) -> ErrorEnvelope {
        ErrorEnvelope {
            error: ErrorBody {
                code: self.code(),
                message: self.to_string(),
                request_id: request_id.to_owned(),
                decline_code: match self {
                    Self::PaymentFailed { decline_code } => decline_code.clone(),
                    _ => None,
                },
            },
        }
    }
}

/// `{"error":{"code","message","request_id"}}`
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    /// Stable, machine-readable; the route's possible codes are listed in its description.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub code: &'static str,
    pub message: String,
    pub request_id: String,
    /// With `payment_failed`: why the bank declined (Stripe's `decline_code`), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decline_code: Option<String>,
}

/// Renders an error with its whole source chain, for the one log line per failure.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A cold start that cannot go on (bad settings, a secret that cannot be read): the function
/// fails its init with this, naming what is wrong.
pub type InitError = Box<dyn std::error::Error + Send + Sync>;

impl From<StoreError> for BillingError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Self::StoreUnavailable(Box::new(error)),
            StoreError::Failed(_) => Self::Internal(Box::new(error)),
        }
    }
}

impl From<GatewayError> for BillingError {
    fn from(error: GatewayError) -> Self {
        match &error {
            GatewayError::Unavailable(_) | GatewayError::ServerError(_) => {
                Self::StripeUnavailable(Box::new(error))
            }
            GatewayError::Credentials(secret) if secret.is_transient() => {
                Self::StripeUnavailable(Box::new(error))
            }
            GatewayError::Rejected { .. } => Self::StripeRejected(Box::new(error)),
            GatewayError::CardError { decline_code, .. } => {
                Self::payment_failed(decline_code.clone())
            }
            GatewayError::IdempotencyConflict => Self::IdempotencyConflict,
            GatewayError::Credentials(
                SecretError::Unreadable { .. } | SecretError::Malformed { .. },
            ) => Self::Internal(Box::new(error)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_messages_never_reach_the_envelope() {
        let error = BillingError::StripeRejected("No such customer: 'cus_secret'".into());
        let envelope = serde_json::to_value(error.envelope("req-1")).unwrap();
        assert_eq!(envelope["error"]["code"], "stripe_error");
        assert_eq!(envelope["error"]["request_id"], "req-1");
        assert!(!envelope.to_string().contains("cus_secret"));
        assert!(chain(&error).contains("cus_secret"));
    }

    #[test]
    fn transient_upstream_failures_are_503_with_retry_after() {
        let error = BillingError::StoreUnavailable("throttled".into());
        assert_eq!(error.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(error.retry_after_seconds(), Some(2));
        assert!(error.is_server_fault());
    }

    #[test]
    fn client_faults_are_4xx() {
        for (error, status) in [
            (BillingError::BillingDisabled, 404),
            (BillingError::Unauthenticated, 401),
            (BillingError::Forbidden, 403),
            (BillingError::InvalidJson, 400),
            (BillingError::CustomerNotFound, 404),
        ] {
            assert_eq!(error.status().as_u16(), status, "{}", error.code());
            assert!(!error.is_server_fault());
        }
    }
}
