//! The one adapter between API Gateway (HTTP API, payload 2.0) and the endpoints: billing gate,
//! principal, role check, body parsing, error mapping and the request log line — written once.

use crate::app::App;
use crate::auth::{Access, Principal};
use crate::error::{BillingError, chain};
use async_trait::async_trait;
use http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Instant;

/// Request bodies of this API are small JSON objects; anything bigger is refused unread.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// One billing endpoint: the access it needs and what it does.
#[async_trait]
pub trait Endpoint: Send + Sync + 'static {
    /// Checked before [`Endpoint::handle`] runs.
    const ACCESS: Access;
    async fn handle(&self, app: &App, request: ApiRequest) -> Result<ApiResponse, BillingError>;
}

/// A request that passed the billing gate and the role check.
pub struct ApiRequest {
    pub principal: Principal,
    pub request_id: String,
    body: Vec<u8>,
}

impl ApiRequest {
    pub fn new(principal: Principal, request_id: String, body: Vec<u8>) -> Self {
        Self {
            principal,
            request_id,
            body,
        }
    }

    /// The JSON body as `T` (which should deny unknown fields); an empty body is `T::default()`.
    pub fn optional_json<T: DeserializeOwned + Default>(&self) -> Result<T, BillingError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        serde_json::from_slice(&self.body).map_err(|error| {
            use serde_json::error::Category;
            match error.classify() {
                Category::Syntax | Category::Eof | Category::Io => BillingError::InvalidJson,
                // Field names and types are the client's own input: safe and useful to echo.
                Category::Data => BillingError::InvalidRequest(data_error_message(&error)),
            }
        })
    }
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

/// A success response: status and JSON body.
pub struct ApiResponse {
    status: StatusCode,
    body: serde_json::Value,
}

impl ApiResponse {
    pub fn new(status: StatusCode, body: impl Serialize) -> Result<Self, BillingError> {
        let body = serde_json::to_value(body).map_err(|e| BillingError::Internal(Box::new(e)))?;
        Ok(Self { status, body })
    }

    pub fn ok(body: impl Serialize) -> Result<Self, BillingError> {
        Self::new(StatusCode::OK, body)
    }

    pub fn created(body: impl Serialize) -> Result<Self, BillingError> {
        Self::new(StatusCode::CREATED, body)
    }
}

fn json_response(status: StatusCode, body: &impl Serialize, request_id: &str) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".to_owned());
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", value);
    }
    response
}

fn error_response(error: &BillingError, request_id: &str) -> Response<Body> {
    let mut response = json_response(error.status(), &error.envelope(request_id), request_id);
    if let Some(seconds) = error.retry_after_seconds() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// API Gateway's request id (the `apigw-requestid` the client sees), else the Lambda one.
fn request_id(event: &Request) -> String {
    let gateway_id = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context.request_id.clone(),
        _ => None,
    };
    gateway_id
        .or_else(|| event.lambda_context_ref().map(|c| c.request_id.clone()))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn principal(event: &Request) -> Result<Principal, BillingError> {
    match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => context
            .authorizer
            .as_ref()
            .map(|authorizer| Principal::from_authorizer_fields(&authorizer.fields))
            .unwrap_or(Err(BillingError::Unauthenticated)),
        _ => Err(BillingError::Unauthenticated),
    }
}

async fn dispatch<E: Endpoint>(
    app: &App,
    endpoint: &E,
    event: Request,
    request_id: String,
) -> Result<ApiResponse, BillingError> {
    if !app.settings.billing_enabled {
        return Err(BillingError::BillingDisabled);
    }
    let principal = principal(&event)?;
    principal.require(E::ACCESS)?;
    let body = event.body().as_ref();
    if body.len() > MAX_BODY_BYTES {
        return Err(BillingError::PayloadTooLarge);
    }
    let request = ApiRequest::new(principal, request_id, body.to_vec());
    endpoint.handle(app, request).await
}

/// Handles one event: never fails the invocation for a business error.
pub async fn serve<E: Endpoint>(app: &App, endpoint: &E, event: Request) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(&event);
    let method = event.method().clone();
    let path = event.raw_http_path().to_owned();
    let org_id = principal(&event)
        .map(|p| p.org_id.to_string())
        .unwrap_or_default();
    let response = match dispatch(app, endpoint, event, request_id.clone()).await {
        Ok(ok) => json_response(ok.status, &ok.body, &request_id),
        Err(error) => {
            if error.is_server_fault() {
                tracing::error!(%request_id, code = error.code(), error = %chain(&error), "request failed");
            }
            error_response(&error, &request_id)
        }
    };
    tracing::info!(
        %request_id, %method, %path, org_id, status = response.status().as_u16(),
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
