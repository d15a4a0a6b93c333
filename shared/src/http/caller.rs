//! Who calls an endpoint: an org member vouched for by the authorizer, or Stripe, proved by the
//! `Stripe-Signature` over the raw body.

use super::request::BodyError;
use super::stripe_signature::verify;
use crate::app::App;
use crate::auth::{Access, Principal};
use crate::error::BillingError;
use async_trait::async_trait;
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use secrecy::ExposeSecret;

/// How a caller kind is established, and what it may send.
#[async_trait]
pub trait Caller: Sized + Send {
    /// The largest body read; `None`: as large as API Gateway passes on.
    const MAX_BODY_BYTES: Option<usize>;
    /// Establishes the caller, or refuses the request before anything else is read.
    async fn authenticate(
        app: &App,
        event: &Request,
        access: Option<Access>,
    ) -> Result<Self, BillingError>;
    /// The answer to a body that does not parse.
    fn refuse_body(error: BodyError) -> BillingError;
}

/// `requestContext.authorizer.lambda` as the authorizer left it; anything missing or malformed
/// fails closed.
pub(super) fn principal(event: &Request) -> Result<Principal, BillingError> {
    match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .map(|authorizer| Principal::from_authorizer_fields(&authorizer.fields))
            .unwrap_or(Err(BillingError::Unauthenticated)),
        _ => Err(BillingError::Unauthenticated),
    }
}

#[async_trait]
impl Caller for Principal {
    const MAX_BODY_BYTES: Option<usize> = Some(super::MAX_BODY_BYTES);

    async fn authenticate(
        _app: &App,
        event: &Request,
        access: Option<Access>,
    ) -> Result<Self, BillingError> {
        let principal = principal(event)?;
        // A member route without an access level would be a wiring bug: refuse, never allow.
        principal.require(access.ok_or(BillingError::Forbidden)?)?;
        Ok(principal)
    }

    fn refuse_body(error: BodyError) -> BillingError {
        match error {
            BodyError::Syntax => BillingError::InvalidJson,
            // Field names and types are the client's own input: safe and useful to echo.
            BodyError::Shape(message) => BillingError::InvalidRequest(message),
        }
    }
}

/// A delivery whose `Stripe-Signature` was verified over the raw body (as received; lambda_http
/// has already undone API Gateway's base64), tolerance 300 s ([`verify`]).
pub struct StripeSignature;

#[async_trait]
impl Caller for StripeSignature {
    /// Stripe's events can be larger than our own requests; API Gateway caps them.
    const MAX_BODY_BYTES: Option<usize> = None;

    async fn authenticate(
        app: &App,
        event: &Request,
        _access: Option<Access>,
    ) -> Result<Self, BillingError> {
        let payload =
            std::str::from_utf8(event.body().as_ref()).map_err(|_| BillingError::InvalidPayload)?;
        let signature = event
            .headers()
            .get("stripe-signature")
            .and_then(|v| v.to_str().ok())
            .ok_or(BillingError::InvalidSignature)?;
        let secret = app.signing.webhook_secret().await?.ok_or_else(|| {
            BillingError::Internal("the Stripe secret document has no webhook_secret".into())
        })?;
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        // Only the signature: the envelope is parsed as the body, whatever the API version.
        verify(payload, signature, secret.expose_secret(), now)
            .map(|()| Self)
            .map_err(|_| BillingError::InvalidSignature)
    }

    fn refuse_body(_error: BodyError) -> BillingError {
        BillingError::InvalidPayload
    }
}
