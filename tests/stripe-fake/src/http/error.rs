//! How an [`ApiError`] becomes a response: Stripe's envelope plus the headers that go with it,
//! and a mark for the idempotency layer on errors it must not save.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::model::error::ApiError;

/// Marks a response that was refused before the endpoint began executing: Stripe keeps no
/// idempotency record for it (bad parameters, auth, rate limits).
#[derive(Debug, Clone, Copy)]
pub struct NotSaved;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body())).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"Stripe\""),
            );
        }
        if let Some(retry) = self.should_retry {
            response.headers_mut().insert(
                "stripe-should-retry",
                HeaderValue::from_static(if retry { "true" } else { "false" }),
            );
        }
        if !self.saved {
            response.extensions_mut().insert(NotSaved);
        }
        response
    }
}
