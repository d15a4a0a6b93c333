//! The one adapter between API Gateway (HTTP API, payload 2.0) and every endpoint: billing gate,
//! caller authentication (the authorizer's principal and role, or Stripe's signature), body size
//! and parsing, error mapping and the request log line — written once.
//!
//! An [`Endpoint`] carries its contract: its [`Route`] (method, path, function, access), its
//! caller kind, request and response types and the errors it can answer. `template.yaml`'s
//! routes and `openapi.json` are checked against, and generated from, that one list
//! ([`crate::endpoints::visit_all`]).

mod caller;
mod request;
mod response;
mod stripe_signature;
#[cfg(test)]
pub(crate) mod tests;

pub use caller::{Caller, StripeSignature};
pub use request::{ApiRequest, BodyError, EmptyBody, NoBody, RequestBody, parse_json};
pub use response::Reply;

use crate::app::App;
use crate::auth::Access;
use crate::error::{BillingError, chain};
use async_trait::async_trait;
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use response::{error_response, json_response};
use serde::Serialize;
use std::time::Instant;

/// Request bodies of this API are small JSON objects; anything bigger is refused unread.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Where API Gateway routes an endpoint, the function that serves it, and who may call it.
#[derive(Debug, Clone)]
pub struct Route {
    /// The Lambda function (crate and binary name, `template.yaml`'s `Binary`).
    pub function: &'static str,
    pub method: http::Method,
    pub path: &'static str,
    pub summary: &'static str,
    /// The roles a member needs; `None` for a route without the authorizer (the webhook).
    pub access: Option<Access>,
}

/// A path or query parameter, as the contract documents it.
#[derive(Debug, Clone, Copy)]
pub struct Parameter {
    pub name: &'static str,
    pub in_path: bool,
    pub description: &'static str,
    /// An integer in this range; `None`: a string.
    pub integer_range: Option<(i64, i64)>,
}

/// A wire type as the contract sees it: its JSON schema when the contract is generated (the
/// `openapi` feature, a build-time tool), nothing at all in the Lambda binaries.
#[cfg(feature = "openapi")]
pub trait Documented: utoipa::ToSchema {}
#[cfg(feature = "openapi")]
impl<T: utoipa::ToSchema> Documented for T {}
/// A wire type as the contract sees it (no schema without the `openapi` feature).
#[cfg(not(feature = "openapi"))]
pub trait Documented {}
#[cfg(not(feature = "openapi"))]
impl<T> Documented for T {}

/// One endpoint of the API: its contract and what it does.
#[async_trait]
pub trait Endpoint: Send + Sync + 'static {
    const ROUTE: Route;
    /// Who calls it, and how that is established before [`Endpoint::handle`] runs.
    type Caller: Caller;
    /// The request body, parsed before [`Endpoint::handle`] runs (required fields required).
    type Body: RequestBody + Documented;
    /// The success body.
    type Response: Serialize + Send + Documented;
    /// The statuses it succeeds with (ensure-customer: 201 when it created, else 200).
    const SUCCESS: &'static [u16] = &[200];
    /// Its path and query parameters.
    const PARAMETERS: &'static [Parameter] = &[];
    /// The failures it can answer beyond those every route of its caller kind can.
    fn errors() -> Vec<BillingError>;
    async fn handle(
        &self,
        app: &App,
        request: ApiRequest<Self::Caller, Self::Body>,
    ) -> Result<Reply<Self::Response>, BillingError>;
}

async fn dispatch<E: Endpoint>(
    app: &App,
    endpoint: &E,
    event: &Request,
    request_id: &str,
) -> Result<(http::StatusCode, serde_json::Value), BillingError> {
    if !app.settings.billing_enabled {
        return Err(BillingError::BillingDisabled);
    }
    let caller = E::Caller::authenticate(app, event, E::ROUTE.access).await?;
    let raw_body = event.body().as_ref();
    if E::Caller::MAX_BODY_BYTES.is_some_and(|max| raw_body.len() > max) {
        return Err(BillingError::PayloadTooLarge);
    }
    let client_idempotency_key = request::client_idempotency_key(event)?;
    let body = E::Body::parse(raw_body).map_err(E::Caller::refuse_body)?;
    let request = ApiRequest {
        caller,
        body,
        request_id: request_id.to_owned(),
        client_idempotency_key,
        path_parameters: event.path_parameters(),
        query_parameters: event.query_string_parameters(),
    };
    endpoint.handle(app, request).await?.into_json()
}

/// Handles one event: never fails the invocation for a business error.
pub async fn serve<E: Endpoint>(app: &App, endpoint: &E, event: Request) -> Response<Body> {
    let started = Instant::now();
    let request_id = request::request_id(&event);
    let org_id = request::org_id(&event);
    let response = match dispatch(app, endpoint, &event, &request_id).await {
        Ok((status, body)) => json_response(status, &body, &request_id),
        Err(error) => {
            if error.is_server_fault() {
                tracing::error!(%request_id, code = error.code(), error = %chain(&error), "request failed");
            }
            error_response(&error, &request_id)
        }
    };
    tracing::info!(
        %request_id, method = %event.method(), path = event.raw_http_path(), org_id,
        function = E::ROUTE.function, status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64, "request"
    );
    response
}

/// The whole `main` of an endpoint function: logging, dependencies once, then the event loop.
pub async fn run<E: Endpoint>(endpoint: E) -> Result<(), Error> {
    crate::telemetry::init();
    let app = App::load().await?;
    let (app, endpoint) = (&app, &endpoint);
    lambda_http::run(service_fn(move |event: Request| async move {
        Ok::<_, Error>(serve(app, endpoint, event).await)
    }))
    .await
}
