//! The one adapter between API Gateway (HTTP API, payload 2.0) and the endpoints: billing gate,
//! principal, role check, body parsing, error mapping and the request log line — written once.

use crate::app::App;
use crate::auth::{Access, Principal};
use crate::error::{BillingError, chain};
use crate::service::webhooks::{WebhookEvent, handle_event};
use async_trait::async_trait;
use http::{HeaderValue, StatusCode, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt, Response, service_fn};
use secrecy::ExposeSecret;
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
    client_idempotency_key: Option<String>,
    path_parameters: std::collections::HashMap<String, String>,
}

/// The `Idempotency-Key` header, if any: 1–200 visible ASCII characters.
fn client_idempotency_key(event: &Request) -> Result<Option<String>, BillingError> {
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

impl ApiRequest {
    pub fn new(principal: Principal, request_id: String, body: Vec<u8>) -> Self {
        Self {
            principal,
            request_id,
            body,
            client_idempotency_key: None,
            path_parameters: Default::default(),
        }
    }

    /// The idempotency key to send to Stripe for `operation`. The client's `Idempotency-Key` is
    /// scoped by org and operation (Stripe keys are account-wide, so two orgs' "abc" must not
    /// meet); without one, a fresh key still makes our own retries of this request safe.
    pub fn idempotency_key(&self, operation: &str) -> String {
        let client_key = self
            .client_idempotency_key
            .clone()
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        format!("{}:{operation}:{client_key}", self.principal.org_id)
    }

    /// Whether the client sent an `Idempotency-Key` (a retry may then be a replay).
    pub fn has_client_idempotency_key(&self) -> bool {
        self.client_idempotency_key.is_some()
    }

    /// A path parameter such as `{id}`.
    pub fn path_parameter(&self, name: &str) -> Option<&str> {
        self.path_parameters.get(name).map(String::as_str)
    }

    /// The JSON body as `T` (which should deny unknown fields); an empty body is `T::default()`.
    pub fn optional_json<T: DeserializeOwned + Default>(&self) -> Result<T, BillingError> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(T::default());
        }
        // Syntax first, so "not JSON" and "JSON of the wrong shape" get distinct codes.
        let value: serde_json::Value =
            serde_json::from_slice(&self.body).map_err(|_| BillingError::InvalidJson)?;
        // Field names and types are the client's own input: safe and useful to echo.
        serde_json::from_value(value)
            .map_err(|error| BillingError::InvalidRequest(data_error_message(&error)))
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
    let mut request = ApiRequest::new(principal, request_id, body.to_vec());
    request.client_idempotency_key = client_idempotency_key(&event)?;
    request.path_parameters = event
        .path_parameters()
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
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

/// The answer to a delivery Stripe accepted as received.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WebhookAck {
    pub received: bool,
    /// `applied`, `duplicate` (already processed) or `ignored` (unhandled type, unknown customer).
    #[schema(value_type = String)]
    pub outcome: &'static str,
}

/// Verifies the `Stripe-Signature` over the raw body (as received; lambda_http has already
/// undone API Gateway's base64) with async-stripe, then parses what the handler needs.
async fn verified_event(app: &App, event: &Request) -> Result<WebhookEvent, BillingError> {
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
    stripe_webhook::Webhook::construct_event(payload, signature, secret.expose_secret()).map_err(
        |error| match error {
            stripe_webhook::WebhookError::BadParse(_) => BillingError::InvalidPayload,
            _ => BillingError::InvalidSignature,
        },
    )?;
    serde_json::from_str(payload).map_err(|_| BillingError::InvalidPayload)
}

/// Handles one Stripe delivery: 2xx only when the event is applied (or known); 4xx for a bad
/// signature or body (nothing written); 5xx on transient failures, so Stripe retries.
pub async fn serve_webhook(app: &App, event: Request) -> Response<Body> {
    let started = Instant::now();
    let request_id = request_id(&event);
    let result = async {
        if !app.settings.billing_enabled {
            return Err(BillingError::BillingDisabled);
        }
        let verified = verified_event(app, &event).await?;
        let outcome = handle_event(
            app.webhook_ports(time::OffsetDateTime::now_utc()),
            &verified,
        )
        .await?;
        tracing::info!(%request_id, event_id = %verified.id, event_type = %verified.event_type,
            outcome = outcome.as_str(), "stripe event");
        Ok(outcome)
    }
    .await;
    let response = match result {
        Ok(outcome) => json_response(
            StatusCode::OK,
            &WebhookAck {
                received: true,
                outcome: outcome.as_str(),
            },
            &request_id,
        ),
        Err(error) => {
            if error.is_server_fault() {
                tracing::error!(%request_id, code = error.code(), error = %chain(&error), "stripe event failed");
            } else {
                tracing::warn!(%request_id, code = error.code(), "stripe event refused");
            }
            error_response(&error, &request_id)
        }
    };
    tracing::info!(%request_id, status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64, "webhook");
    response
}

/// The whole `main` of the webhook function.
pub async fn run_webhook() -> Result<(), Error> {
    crate::telemetry::init();
    let app = App::load().await?;
    let app = &app;
    lambda_http::run(service_fn(move |event: Request| async move {
        Ok::<_, Error>(serve_webhook(app, event).await)
    }))
    .await
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::endpoints::{EnsureCustomer, GetCustomer};
    use crate::testing::{TEST_WEBHOOK_SECRET, World};
    use serde_json::Value;
    use std::sync::atomic::Ordering;

    fn app() -> App {
        World::new().app
    }

    /// A whole event: async-stripe parses `data.object` into its typed Subscription.
    pub(crate) fn stripe_event(id: &str) -> String {
        let subscription: Value =
            serde_json::from_str(include_str!("../tests/fixtures/stripe-subscription.json"))
                .unwrap();
        serde_json::json!({
            "id": id, "object": "event", "api_version": "2026-09-30.endive", "created": 1_795_000_000,
            "data": {"object": subscription},
            "livemode": false, "pending_webhooks": 1,
            "request": {"id": null, "idempotency_key": null},
            "type": "customer.subscription.updated"
        })
        .to_string()
    }

    fn delivery(payload: &str, signature: Option<String>) -> Request {
        let mut event: Value =
            serde_json::from_str(include_str!("../../events/stripe-webhook.json")).unwrap();
        event["body"] = payload.into();
        match signature {
            Some(signature) => event["headers"]["stripe-signature"] = signature.into(),
            None => {
                event["headers"]
                    .as_object_mut()
                    .unwrap()
                    .remove("stripe-signature");
            }
        }
        lambda_http::request::from_str(&event.to_string()).unwrap()
    }

    pub(crate) fn signed(payload: &str, secret: &str, at: i64) -> Option<String> {
        Some(stripe_webhook::Webhook::generate_test_header(
            payload,
            secret,
            Some(at),
        ))
    }

    pub(crate) fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    #[tokio::test]
    async fn a_signed_event_is_acknowledged_and_a_redelivery_is_a_duplicate() {
        let app = app();
        let payload = stripe_event("evt_ok");
        let first = serve_webhook(
            &app,
            delivery(&payload, signed(&payload, TEST_WEBHOOK_SECRET, now())),
        )
        .await;
        assert_eq!(first.status(), 200, "{:?}", first.body());
        let again = serve_webhook(
            &app,
            delivery(&payload, signed(&payload, TEST_WEBHOOK_SECRET, now())),
        )
        .await;
        let Body::Text(text) = again.body() else {
            panic!("text body")
        };
        assert!(text.contains("duplicate"), "{text}");
    }

    #[tokio::test]
    async fn bad_signatures_are_400_and_record_nothing() {
        let app = app();
        let payload = stripe_event("evt_bad");
        let tampered = payload.replace("\"livemode\":false", "\"livemode\":true");
        for (name, request) in [
            ("missing", delivery(&payload, None)),
            (
                "wrong secret",
                delivery(&payload, signed(&payload, "whsec_other", now())),
            ),
            (
                "tampered body",
                delivery(&tampered, signed(&payload, TEST_WEBHOOK_SECRET, now())),
            ),
            (
                "stale",
                delivery(&payload, signed(&payload, TEST_WEBHOOK_SECRET, now() - 301)),
            ),
            (
                "garbage header",
                delivery(&payload, Some("t=1,v1=zz".into())),
            ),
        ] {
            let response = serve_webhook(&app, request).await;
            assert_eq!(response.status(), 400, "{name}");
        }
        assert!(!app.events.is_processed("evt_bad").await.unwrap());
    }

    #[tokio::test]
    async fn a_signed_non_event_is_invalid_payload() {
        let app = app();
        let payload = "{\"hello\": 1}";
        let response = serve_webhook(
            &app,
            delivery(payload, signed(payload, TEST_WEBHOOK_SECRET, now())),
        )
        .await;
        assert_eq!(response.status(), 400);
        let Body::Text(text) = response.body() else {
            panic!("text body")
        };
        assert!(text.contains("invalid_payload"), "{text}");
    }

    fn event(file: &str, edit: impl FnOnce(&mut Value)) -> Request {
        let text = match file {
            "get" => include_str!("../../events/get-customer.json"),
            _ => include_str!("../../events/ensure-customer.json"),
        };
        let mut json: Value = serde_json::from_str(text).unwrap();
        edit(&mut json);
        lambda_http::request::from_str(&json.to_string()).unwrap()
    }

    fn as_role(role: &'static str) -> impl FnOnce(&mut Value) {
        move |e| e["requestContext"]["authorizer"]["lambda"]["role"] = role.into()
    }

    fn with_body(body: &'static str) -> impl FnOnce(&mut Value) {
        move |e| e["body"] = body.into()
    }

    async fn call<E: Endpoint>(app: &App, endpoint: E, request: Request) -> (u16, Value) {
        let response = serve(app, &endpoint, request).await;
        let status = response.status().as_u16();
        let body = match response.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap(),
            other => panic!("unexpected body {other:?}"),
        };
        (status, body)
    }

    #[test]
    fn every_sample_event_is_a_valid_api_gateway_event_with_a_principal() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name == "authorizer.json" {
                continue; // an authorizer request, not an HTTP event
            }
            let request = lambda_http::request::from_str(&std::fs::read_to_string(&path).unwrap())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            if name != "stripe-webhook.json" {
                assert!(
                    principal(&request).is_ok(),
                    "{name} carries the authorizer context"
                );
            }
            checked += 1;
        }
        assert!(checked >= 15, "{checked} events");
    }

    #[tokio::test]
    async fn get_before_ensure_is_customer_not_found_with_the_request_id() {
        let (status, body) = call(&app(), GetCustomer, event("get", |_| {})).await;
        assert_eq!(status, 404);
        assert_eq!(body["error"]["code"], "customer_not_found");
        assert_eq!(body["error"]["request_id"], "sample-get-billing-customer");
    }

    #[tokio::test]
    async fn ensure_creates_then_returns_the_same_customer_and_get_reads_it() {
        let app = app();
        let (first_status, first) = call(&app, EnsureCustomer, event("ensure", |_| {})).await;
        let (second_status, second) = call(&app, EnsureCustomer, event("ensure", |_| {})).await;
        let (get_status, got) = call(&app, GetCustomer, event("get", |_| {})).await;
        assert_eq!((first_status, second_status, get_status), (201, 200, 200));
        assert_eq!(first, second);
        assert_eq!(first, got);
        assert_eq!(first["org_id"], "org_demo");
        assert!(
            first["stripe_customer_id"]
                .as_str()
                .unwrap()
                .starts_with("cus_")
        );
        assert!(first["created_at"].as_str().unwrap().ends_with('Z'));
    }

    #[tokio::test]
    async fn ensure_accepts_no_body_and_an_empty_object() {
        let app = app();
        let (status, _) = call(
            &app,
            EnsureCustomer,
            event("ensure", |e| {
                e.as_object_mut().unwrap().remove("body");
            }),
        )
        .await;
        assert_eq!(status, 201);
    }

    #[tokio::test]
    async fn viewers_cannot_ensure_but_can_read() {
        let app = app();
        let (status, body) = call(&app, EnsureCustomer, event("ensure", as_role("viewer"))).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (403, Some("forbidden"))
        );
        let (status, _) = call(&app, GetCustomer, event("get", as_role("viewer"))).await;
        assert_eq!(status, 404);
    }

    #[tokio::test]
    async fn admins_and_owners_can_ensure() {
        for role in ["admin", "owner"] {
            let (status, _) = call(&app(), EnsureCustomer, event("ensure", as_role(role))).await;
            assert_eq!(status, 201, "{role}");
        }
    }

    #[tokio::test]
    async fn a_missing_or_malformed_principal_is_401() {
        let edits: [fn(&mut Value); 3] = [
            |e| {
                e["requestContext"]
                    .as_object_mut()
                    .unwrap()
                    .remove("authorizer");
            },
            |e| e["requestContext"]["authorizer"]["lambda"]["org_id"] = Value::Null,
            |e| e["requestContext"]["authorizer"]["lambda"]["role"] = "root".into(),
        ];
        for edit in edits {
            let (status, body) = call(&app(), GetCustomer, event("get", edit)).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (401, Some("unauthenticated"))
            );
        }
    }

    #[tokio::test]
    async fn disabled_billing_is_404_on_every_route_before_anything_else() {
        let app = World::with_billing("false").app;
        for request in [event("get", |_| {}), event("ensure", as_role("viewer"))] {
            let response = serve(&app, &EnsureCustomer, request).await;
            assert_eq!(response.status(), 404);
        }
        let (_, body) = call(&app, GetCustomer, event("get", |_| {})).await;
        assert_eq!(body["error"]["code"], "billing_disabled");
    }

    #[tokio::test]
    async fn malformed_json_and_unknown_fields_are_400_with_distinct_codes() {
        let app = app();
        let (status, body) = call(
            &app,
            EnsureCustomer,
            event("ensure", with_body("{\"email\":")),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_json"))
        );
        let (status, body) = call(
            &app,
            EnsureCustomer,
            event("ensure", with_body("{\"org_id\":\"other\"}")),
        )
        .await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_request"))
        );
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("org_id")
        );
        let (status, _) = call(&app, EnsureCustomer, event("ensure", with_body("[1,2]"))).await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn oversized_and_deeply_nested_bodies_are_refused() {
        let app = app();
        let big: &'static str =
            Box::leak(format!("{{\"pad\":\"{}\"}}", "x".repeat(MAX_BODY_BYTES)).into_boxed_str());
        let (status, body) = call(&app, EnsureCustomer, event("ensure", with_body(big))).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (413, Some("payload_too_large"))
        );
        let deep: &'static str =
            Box::leak(format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_boxed_str());
        let (status, _) = call(&app, EnsureCustomer, event("ensure", with_body(deep))).await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn a_stripe_outage_is_503_with_retry_after_and_no_record() {
        let world = World::new();
        world.gateway.fail_next.store(1, Ordering::SeqCst);
        let app = world.app;
        let response = serve(&app, &EnsureCustomer, event("ensure", |_| {})).await;
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()["retry-after"], "2");
        let (status, _) = call(&app, GetCustomer, event("get", |_| {})).await;
        assert_eq!(status, 404);
    }
}
