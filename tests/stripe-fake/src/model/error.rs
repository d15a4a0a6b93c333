//! Stripe's error envelope: `{"error":{"type","code","message","param","doc_url"}}`.

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::cards::Decline;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorType {
    #[serde(rename = "api_error")]
    Api,
    #[serde(rename = "card_error")]
    Card,
    #[serde(rename = "idempotency_error")]
    Idempotency,
    #[serde(rename = "invalid_request_error")]
    InvalidRequest,
}

impl ErrorType {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api_error",
            Self::Card => "card_error",
            Self::Idempotency => "idempotency_error",
            Self::InvalidRequest => "invalid_request_error",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: ErrorType,
    pub code: Option<&'static str>,
    pub message: String,
    pub param: Option<String>,
    /// False for validation failures, which the idempotency layer must not save (the response
    /// then carries `NotSaved`).
    pub saved: bool,
    pub should_retry: Option<bool>,
    /// Card errors: why the issuer declined.
    pub decline_code: Option<&'static str>,
    /// Objects Stripe embeds in some errors (`setup_intent`, `payment_method`).
    pub objects: Vec<(&'static str, Value)>,
}

impl ApiError {
    fn new(status: StatusCode, kind: ErrorType, message: impl Into<String>) -> Self {
        Self {
            status,
            kind,
            code: None,
            message: message.into(),
            param: None,
            saved: true,
            should_retry: None,
            decline_code: None,
            objects: Vec::new(),
        }
    }

    pub fn code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
    }

    pub fn param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into());
        self
    }

    fn validation(mut self) -> Self {
        self.saved = false;
        self
    }

    /// A 400 about a request parameter; never saved under an idempotency key.
    pub fn invalid(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message)
            .param(param)
            .validation()
    }

    pub fn invalid_with_code(
        param: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::invalid(param, message).code(code)
    }

    pub fn unknown_parameter(param: &str) -> Self {
        Self::invalid_with_code(
            param,
            "parameter_unknown",
            format!("Received unknown parameter: {param}"),
        )
    }

    pub fn missing_parameter(param: &str) -> Self {
        Self::invalid_with_code(
            param,
            "parameter_missing",
            format!("Missing required param: {param}."),
        )
    }

    /// A parameter Stripe accepts on this endpoint but the fake does not model.
    pub fn not_implemented(param: &str) -> Self {
        Self::invalid(
            param,
            format!(
                "stripe-fake does not implement the parameter `{param}` on this endpoint \
                 (real Stripe accepts it)."
            ),
        )
    }

    /// 404 for an id in the URL path.
    pub fn no_such(resource: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequest,
            format!("No such {resource}: '{id}'"),
        )
        .code("resource_missing")
        .param("id")
    }

    /// 400 for an id passed as a parameter that names no object.
    pub fn no_such_param(resource: &str, id: &str, param: impl Into<String>) -> Self {
        Self::invalid_with_code(
            param,
            "resource_missing",
            format!("No such {resource}: '{id}'"),
        )
    }

    /// 402 `card_error` for a declined card (attach, SetupIntent confirm). Saved under an
    /// idempotency key: the endpoint ran.
    pub fn card_declined(decline: &Decline) -> Self {
        let mut error = Self::new(
            StatusCode::PAYMENT_REQUIRED,
            ErrorType::Card,
            decline.message,
        )
        .code(decline.code);
        error.decline_code = Some(decline.decline_code);
        error.param = decline.param.map(str::to_owned);
        error
    }

    /// 402 `card_error` without a decline (`invoice_payment_intent_requires_action`).
    pub fn card(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYMENT_REQUIRED, ErrorType::Card, message).code(code)
    }

    /// 400 for an object in the wrong state for the request (`setup_intent_unexpected_state`,
    /// `payment_method_unexpected_state`, …). Saved: the endpoint ran.
    pub fn unexpected_state(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message).code(code)
    }

    /// A 400 about the state of an object rather than a parameter (no `code`, no `param`: none
    /// is known), saved under an idempotency key.
    pub fn state_refused(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message)
    }

    /// A 400 from the endpoint's own logic (after validation), saved under an idempotency key.
    pub fn refused(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, ErrorType::InvalidRequest, message).param(param)
    }

    /// 404 `invoice_upcoming_none` (OBS: stripe-dotnet #1246 shows the status and message).
    pub fn upcoming_none(customer: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequest,
            format!("No upcoming invoices for customer: {customer}"),
        )
        .code("invoice_upcoming_none")
    }

    /// Embeds an object in the error body (`"setup_intent": {…}`).
    pub fn object(mut self, key: &'static str, object: &Value) -> Self {
        self.objects.push((key, object.clone()));
        self
    }

    /// A publishable key used where Stripe wants a secret key.
    pub fn publishable_key_forbidden() -> Self {
        Self::unauthorized(
            "This API call cannot be made with a publishable API key. Please use a secret API \
             key. You can find a list of your API keys at \
             https://dashboard.stripe.com/account/apikeys.",
        )
    }

    pub fn unrecognized_url(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::InvalidRequest,
            format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs \
                 or we can help at https://support.stripe.com/."
            ),
        )
        .validation()
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, ErrorType::InvalidRequest, message).validation()
    }

    pub fn idempotency_mismatch(key: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::Idempotency,
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were \
                 first used with. Try using a key other than '{key}' if you meant to execute a \
                 different request."
            ),
        )
        .validation()
    }

    pub fn idempotency_other_endpoint(key: &str, first: &str, now: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::Idempotency,
            format!(
                "Keys for idempotent requests can only be used for the same endpoint they were \
                 first used for ('{first}' vs '{now}'). Try using a key other than '{key}' if \
                 you meant to execute a different request."
            ),
        )
        .validation()
    }

    /// The code is documented; the `type` is UNCONFIRMED (SEMANTICS §1), hence a switch.
    pub fn idempotency_in_use(key: &str, kind: ErrorType) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            kind,
            format!(
                "There is currently another in-progress request using this Idempotent Key (that \
                 probably means you submitted twice, and the other request is still going \
                 through): {key}. Please try again later."
            ),
        )
        .code("idempotency_key_in_use")
        .validation()
    }

    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorType::InvalidRequest,
            "Request rate limit exceeded. Learn more about rate limits here \
             https://stripe.com/docs/rate-limits.",
        )
        .code("rate_limit")
        .validation()
    }

    pub fn server_error(status: StatusCode) -> Self {
        Self::new(status, ErrorType::Api, "An unknown error occurred")
    }

    pub fn should_retry(mut self, value: Option<bool>) -> Self {
        self.should_retry = value;
        self
    }

    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.kind.as_str()));
        error.insert("message".into(), json!(self.message));
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        if let Some(decline_code) = self.decline_code {
            error.insert("decline_code".into(), json!(decline_code));
        }
        for (key, object) in &self.objects {
            error.insert((*key).into(), object.clone());
        }
        json!({ "error": error })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_matches_stripe() {
        let body = ApiError::unknown_parameter("foo").body();
        assert_eq!(
            body,
            json!({"error": {
                "type": "invalid_request_error",
                "code": "parameter_unknown",
                "doc_url": "https://stripe.com/docs/error-codes/parameter-unknown",
                "message": "Received unknown parameter: foo",
                "param": "foo"
            }})
        );
        let missing = ApiError::no_such("customer", "cus_x").body();
        assert_eq!(missing["error"]["message"], "No such customer: 'cus_x'");
        assert_eq!(missing["error"]["code"], "resource_missing");
    }
}
