//! Responses: a success body with its status, and the one error envelope.

use crate::error::BillingError;
use http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Response};
use serde::Serialize;

/// A success: status and body.
pub struct Reply<T> {
    status: StatusCode,
    body: T,
}

impl<T: Serialize> Reply<T> {
    pub fn ok(body: T) -> Self {
        Self {
            status: StatusCode::OK,
            body,
        }
    }

    pub fn created(body: T) -> Self {
        Self {
            status: StatusCode::CREATED,
            body,
        }
    }

    pub(super) fn into_json(self) -> Result<(StatusCode, serde_json::Value), BillingError> {
        let body =
            serde_json::to_value(self.body).map_err(|e| BillingError::Internal(Box::new(e)))?;
        Ok((self.status, body))
    }
}

pub(super) fn json_response(
    status: StatusCode,
    body: &impl Serialize,
    request_id: &str,
) -> Response<Body> {
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

pub(super) fn error_response(error: &BillingError, request_id: &str) -> Response<Body> {
    let mut response = json_response(error.status(), &error.envelope(request_id), request_id);
    if let Some(seconds) = error.retry_after_seconds() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}
