//! What every /v1 request goes through, written once: request counting, auth, parameter
//! parsing, injected faults, idempotency and the response headers Stripe sends.

use axum::body::{Body, to_bytes};
use axum::extract::{FromRequestParts, MatchedPath, OriginalUri, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Json, Response};
use serde_json::Value;

use super::error::NotSaved;
use super::expand;
use super::faults::{self, Kind, When};
use super::idempotency::{Begin, Fingerprint, MAX_KEY_LEN};
use super::params::{Params, Spec};
use crate::API_VERSION;
use crate::app::App;
use crate::model::clock::wall_now_ms;
use crate::model::error::ApiError;
use crate::model::events::Origin;
use crate::model::ids;
use crate::model::store::Store;

const MAX_BODY_BYTES: usize = 1 << 20;

pub type ApiResult = Result<Json<Value>, ApiError>;

/// Which kind of API key authenticated a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// `sk_test_…`: everything.
    Secret,
    /// `pk_test_…`: only what Stripe.js does with a client secret ([`PUBLISHABLE_ROUTES`]).
    Publishable,
}

/// The routes a publishable key may call (the handler then requires the intent's client secret).
const PUBLISHABLE_ROUTES: &[&str] = &[
    "GET /v1/setup_intents/:id",
    "POST /v1/setup_intents/:id/confirm",
    "GET /v1/payment_intents/:id",
    "POST /v1/payment_intents/:id/confirm",
];

/// The parsed request a /v1 handler receives.
#[derive(Debug, Clone)]
pub struct ApiRequest {
    /// `req_…`, also sent as the `Request-Id` header and in events' `request.id`.
    pub id: String,
    pub idempotency_key: Option<String>,
    pub key: KeyKind,
    params: Params,
}

impl ApiRequest {
    /// Who caused the events this request records.
    pub fn origin(&self) -> Origin<'_> {
        Origin {
            request_id: Some(&self.id),
            idempotency_key: self.idempotency_key.as_deref(),
        }
    }

    pub fn publishable(&self) -> bool {
        self.key == KeyKind::Publishable
    }

    /// Whether a parameter was sent at all, before any endpoint check (for parameters an API
    /// version removed, which get their own error).
    pub fn has_param(&self, key: &str) -> bool {
        self.params.contains(key)
    }

    /// The parameters, after refusing any this endpoint does not take.
    pub fn params(&self, spec: &Spec) -> Result<&Params, ApiError> {
        self.params.check(spec)?;
        Ok(&self.params)
    }

    /// The response body, with the request's `expand[]` applied.
    pub fn render(&self, store: &Store, mut object: Value) -> ApiResult {
        expand::apply(store, &mut object, &self.params.expand()?)?;
        Ok(Json(object))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .remove::<Self>()
            .ok_or_else(|| ApiError::server_error(StatusCode::INTERNAL_SERVER_ERROR))
    }
}

/// The path as the client sent it (`nest` strips `/v1` from the request's own URI).
fn full_path(request_uri: &Uri, original: Option<&OriginalUri>) -> String {
    original.map_or(request_uri, |o| &o.0).path().to_owned()
}

/// `POST /v1/customers/:id` for a matched route, the raw path otherwise.
fn route_key(request: &Request) -> String {
    let path = match request.extensions().get::<MatchedPath>() {
        Some(matched) if !matched.as_str().contains("{*") => matched
            .as_str()
            .split('/')
            .map(
                |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) => format!(":{name}"),
                    None => segment.to_owned(),
                },
            )
            .collect::<Vec<_>>()
            .join("/"),
        _ => full_path(request.uri(), request.extensions().get()),
    };
    format!("{} {path}", request.method())
}

pub async fn api_layer(State(app): State<App>, request: Request, next: Next) -> Response {
    // Browsers (Stripe.js stand-ins) call the API cross-origin: answer preflights, allow any origin.
    if request.method() == Method::OPTIONS {
        return preflight(request.headers());
    }
    let cross_origin = request.headers().contains_key(header::ORIGIN);
    let route = route_key(&request);
    app.requests.hit(&route);
    let request_id = ids::generate("req", ids::SHORT);
    let mut response = run(&app, &route, &request_id, request, next)
        .await
        .unwrap_or_else(IntoResponse::into_response);
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("request-id", id);
    }
    headers.insert("stripe-version", HeaderValue::from_static(API_VERSION));
    if cross_origin {
        allow_any_origin(headers);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("request-id, stripe-version, idempotent-replayed"),
        );
    }
    response
}

/// `OPTIONS` on any /v1 URL: the CORS preflight answer (not counted as a request).
fn preflight(request_headers: &HeaderMap) -> Response {
    let allow_headers = request_headers
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::from_static(
                "authorization, content-type, idempotency-key, stripe-version, stripe-account",
            )
        });
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    allow_any_origin(headers);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, DELETE"),
    );
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// Any page may call the fake, like any page may call Stripe with a publishable key.
fn allow_any_origin(headers: &mut HeaderMap) {
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
}

async fn run(
    app: &App,
    route: &str,
    request_id: &str,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key = authenticate(request.headers())?;
    if key == KeyKind::Publishable && !PUBLISHABLE_ROUTES.contains(&route) {
        return Err(ApiError::publishable_key_forbidden());
    }
    let (mut parts, body) = request.into_parts();
    let body = to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| {
        ApiError::invalid(
            "body",
            "The request body could not be read or is too large.",
        )
    })?;
    let params = Params::parse(parts.uri.query(), &body)?;
    if let Some(fault) = app.faults.take(route, When::Before) {
        fault.hold().await;
        return Ok(fault.response());
    }
    let idempotency_key = idempotency_key(&parts.method, &parts.headers)?;
    let guard = match &idempotency_key {
        None => None,
        Some(key) => {
            let endpoint = format!(
                "{} {}",
                parts.method,
                full_path(&parts.uri, parts.extensions.get())
            );
            let fingerprint = Fingerprint {
                endpoint,
                params: params.to_value(),
            };
            let in_use_type = app.behaviours().idempotency_in_use_type;
            match app
                .idempotency
                .begin(key, fingerprint, wall_now_ms(), in_use_type)?
            {
                Begin::Replay(saved) => return Ok(with_key(saved.replay(), key)),
                Begin::Execute(guard) => Some(guard),
            }
        }
    };
    parts.extensions.insert(ApiRequest {
        id: request_id.to_owned(),
        idempotency_key: idempotency_key.clone(),
        key,
        params,
    });
    let response = next.run(Request::from_parts(parts, Body::empty())).await;
    if response.extensions().get::<NotSaved>().is_some() {
        // Refused before execution: dropping the guard releases the key.
        return Ok(response);
    }
    let fault = app.faults.take(route, When::After);
    let reset = fault
        .as_ref()
        .is_some_and(|fault| fault.kind == Kind::Reset);
    let response = match &fault {
        Some(fault) if !reset => fault.response(),
        _ => response,
    };
    let mut guard = guard;
    let response = match guard.as_mut() {
        Some(guard) => guard.record(response, request_id).await,
        None => response,
    };
    if let Some(fault) = &fault {
        // The request executed: a client that gives up during the hold leaves the key saved.
        fault.hold().await;
    }
    drop(guard);
    if reset {
        return Ok(faults::connection_reset());
    }
    Ok(match &idempotency_key {
        Some(key) => with_key(response, key),
        None => response,
    })
}

/// Stripe echoes the key on responses to keyed requests.
fn with_key(mut response: Response, key: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(key) {
        response.headers_mut().insert("idempotency-key", value);
    }
    response
}

const NO_KEY: &str = "You did not provide an API key. You need to provide your API key in the \
    Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See \
    https://stripe.com/docs/api#authentication for details, or we can help at \
    https://support.stripe.com/.";

/// The key from `Authorization`: HTTP Basic with the key as the user name and no password
/// (Stripe's documented scheme, what `curl -u sk_…:` sends), or Bearer (also documented, for
/// cross-origin requests). Source: the API reference, "Authentication".
fn presented_key(headers: &HeaderMap) -> String {
    use base64::Engine;
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if let Some(bearer) = value.strip_prefix("Bearer ") {
        return bearer.trim().to_owned();
    }
    value
        .strip_prefix("Basic ")
        .and_then(|encoded| {
            base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .ok()
        })
        .and_then(|decoded| String::from_utf8(decoded).ok())
        .map(|user_pass| user_pass.split(':').next().unwrap_or_default().to_owned())
        .unwrap_or_default()
}

/// Any `sk_test_…` key is accepted (this fake is one test-mode account), and any `pk_test_…` key
/// on the routes Stripe.js calls.
fn authenticate(headers: &HeaderMap) -> Result<KeyKind, ApiError> {
    let key = presented_key(headers);
    let key = key.as_str();
    if key.is_empty() {
        return Err(ApiError::unauthorized(NO_KEY));
    }
    for (prefix, kind) in [
        ("sk_test_", KeyKind::Secret),
        ("pk_test_", KeyKind::Publishable),
    ] {
        if key.len() > prefix.len() && key.starts_with(prefix) {
            return Ok(kind);
        }
    }
    // Like Stripe, show only the last four characters of a rejected key.
    let tail: String = key
        .chars()
        .skip(key.chars().count().saturating_sub(4))
        .collect();
    let shown = if key.chars().count() > 8 {
        format!("****{tail}")
    } else {
        "****".to_owned()
    };
    Err(ApiError::unauthorized(format!(
        "Invalid API Key provided: {shown}"
    )))
}

/// Keys matter on POST only ("no effect" on GET and DELETE).
fn idempotency_key(method: &Method, headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    if method != Method::POST {
        return Ok(None);
    }
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value.to_str().map_err(|_| {
        ApiError::invalid(
            "Idempotency-Key",
            "The Idempotency-Key header must be ASCII.",
        )
    })?;
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError::invalid(
            "Idempotency-Key",
            format!("Idempotency-Key must be 1 to {MAX_KEY_LEN} characters long."),
        ));
    }
    Ok(Some(key.to_owned()))
}

/// Stripe's 404 for a URL it does not know (also for a known URL with the wrong method).
pub async fn unrecognized(method: Method, OriginalUri(uri): OriginalUri) -> ApiError {
    ApiError::unrecognized_url(method.as_str(), uri.path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(auth: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(auth) {
            map.insert(header::AUTHORIZATION, value);
        }
        map
    }

    #[test]
    fn only_test_keys_pass_as_bearer_or_basic() {
        assert_eq!(
            authenticate(&headers("Bearer sk_test_123")).ok(),
            Some(KeyKind::Secret)
        );
        assert_eq!(
            authenticate(&headers("Bearer pk_test_123")).ok(),
            Some(KeyKind::Publishable)
        );
        assert!(authenticate(&headers("Bearer pk_live_123")).is_err());
        // curl -u sk_test_123:  (Basic, the key as user name, empty password)
        assert_eq!(
            authenticate(&headers("Basic c2tfdGVzdF8xMjM6")).ok(),
            Some(KeyKind::Secret)
        );
        assert!(authenticate(&headers("Basic bm90YWtleTo=")).is_err());
        assert!(authenticate(&HeaderMap::new()).is_err());
        assert!(authenticate(&headers("Bearer sk_test_")).is_err());
        let live = authenticate(&headers("Bearer sk_live_secretvalue9876")).err();
        let message = live.map(|e| e.message).unwrap_or_default();
        assert!(
            message.ends_with("****9876") && !message.contains("secretvalue"),
            "{message}"
        );
    }

    #[test]
    fn idempotency_key_only_on_post() {
        let mut map = HeaderMap::new();
        map.insert("idempotency-key", HeaderValue::from_static("abc"));
        assert_eq!(idempotency_key(&Method::GET, &map).ok(), Some(None));
        assert_eq!(
            idempotency_key(&Method::POST, &map).ok(),
            Some(Some("abc".into()))
        );
        map.insert("idempotency-key", HeaderValue::from_static(""));
        assert!(idempotency_key(&Method::POST, &map).is_err());
    }
}
