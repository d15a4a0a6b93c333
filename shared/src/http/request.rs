//! What the adapter reads off an API Gateway event: ids, the client's idempotency key, the body.

use crate::domain::{IdempotencyKey, OrgId};
use crate::error::BillingError;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// A request that passed the billing gate and authentication, with its body parsed.
pub struct ApiRequest<C, B> {
    pub caller: C,
    pub body: B,
    pub request_id: String,
    pub(super) client_idempotency_key: Option<String>,
    pub(super) path_parameters: lambda_http::aws_lambda_events::query_map::QueryMap,
    pub(super) query_parameters: lambda_http::aws_lambda_events::query_map::QueryMap,
}

impl<B> ApiRequest<crate::auth::Principal, B> {
    /// The org the authorizer vouched for: never from a path or body.
    pub fn org_id(&self) -> &OrgId {
        &self.caller.org_id
    }

    /// The key to send to Stripe for `operation`, from the client's `Idempotency-Key` if any.
    pub fn idempotency_key(&self, operation: &str) -> IdempotencyKey {
        IdempotencyKey::for_request(
            self.org_id(),
            operation,
            self.client_idempotency_key.as_deref(),
        )
    }
}

impl<C, B> ApiRequest<C, B> {
    /// A path parameter such as `{id}`.
    pub fn path_parameter(&self, name: &str) -> Option<&str> {
        self.path_parameters.first(name)
    }

    /// A query string parameter such as `?limit=`.
    pub fn query_parameter(&self, name: &str) -> Option<&str> {
        self.query_parameters.first(name)
    }
}

/// How a request body is read. JSON bodies refuse unknown fields and treat an empty body as
/// `{}`, so a missing required field is named by serde ("missing field `plan`").
pub trait RequestBody: Sized + Send {
    /// Whether the contract documents a body (`openapi.json`'s `requestBody`).
    const DOCUMENTED: bool = true;
    fn parse(raw: &[u8]) -> Result<Self, BodyError>;
}

/// Why a body was refused; the caller kind decides the answer (see [`super::Caller`]).
#[derive(Debug)]
pub enum BodyError {
    /// Not JSON at all.
    Syntax,
    /// JSON of the wrong shape: serde's message, without its position.
    Shape(String),
}

/// Parses a JSON body; an empty one reads as `{}`.
pub fn parse_json<T: DeserializeOwned>(raw: &[u8]) -> Result<T, BodyError> {
    let raw: &[u8] = if raw.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        raw
    };
    // Syntax first, so "not JSON" and "JSON of the wrong shape" get distinct codes.
    let value: serde_json::Value = serde_json::from_slice(raw).map_err(|_| BodyError::Syntax)?;
    serde_json::from_value(value).map_err(|error| BodyError::Shape(data_error_message(&error)))
}

/// serde's data errors read like "unknown field `x`, expected one of …"; drop the position.
fn data_error_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let message = text
        .split(" at line ")
        .next()
        .unwrap_or("invalid request body");
    format!("invalid request body: {message}")
}

/// Implements [`RequestBody`] as JSON for wire types.
#[macro_export]
macro_rules! json_request_body {
    ($($body:ty),+ $(,)?) => {
        $(impl $crate::http::RequestBody for $body {
            fn parse(raw: &[u8]) -> Result<Self, $crate::http::BodyError> {
                $crate::http::parse_json(raw)
            }
        })+
    };
}

/// No body is read (GET, DELETE): whatever was sent is ignored, as before any parsing.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoBody;

impl RequestBody for NoBody {
    const DOCUMENTED: bool = false;
    fn parse(_raw: &[u8]) -> Result<Self, BodyError> {
        Ok(Self)
    }
}

/// A body with no fields (empty or `{}`): unknown fields are refused, not ignored.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct EmptyBody {}

json_request_body!(EmptyBody);

/// The `Idempotency-Key` header, if any: 1–200 visible ASCII characters.
pub(super) fn client_idempotency_key(event: &Request) -> Result<Option<String>, BillingError> {
    let Some(value) = event.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| BillingError::InvalidIdempotencyKey)?
        .trim();
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(BillingError::InvalidIdempotencyKey);
    }
    Ok(Some(key.to_owned()))
}

/// API Gateway's request id (the `apigw-requestid` the client sees), else the Lambda one.
pub(super) fn request_id(event: &Request) -> String {
    let gateway_id = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    gateway_id
        .or_else(|| event.lambda_context_ref().map(|c| c.request_id.clone()))
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The org for the log line, when the authorizer named one.
pub(super) fn org_id(event: &Request) -> String {
    super::caller::principal(event)
        .map(|p| p.org_id.to_string())
        .unwrap_or_default()
}
