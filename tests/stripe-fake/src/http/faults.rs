//! Injected failures for the /v1 routes, configured through the control API.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::app::lock;
use crate::model::error::ApiError;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum When {
    /// Before the endpoint runs: nothing changes and nothing is saved under the idempotency key.
    #[default]
    Before,
    /// After the endpoint ran: the change happened, the client gets the fault instead, and the
    /// fault response is what the idempotency key replays (a dropped connection saves the real one),
    /// also when the client stops waiting during a timeout's hold.
    After,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Answer with `status` (429 or 5xx) and Stripe's error body.
    Status,
    /// Hold the request for `delay_ms`, then answer 500.
    Timeout,
    /// Close the connection without an HTTP response.
    Reset,
}

const DEFAULT_TIMEOUT_MS: u64 = 30_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(skip_deserializing)]
    pub id: u64,
    /// `"POST /v1/customers"`, `"GET /v1/customers/:id"` or `"*"` for every /v1 route.
    pub route: String,
    pub kind: Kind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// How many requests it hits; absent means until cleared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub times: Option<u32>,
    #[serde(default)]
    pub when: When,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    /// Sends `Stripe-Should-Retry` with this value (real Stripe sets it on some errors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub should_retry: Option<bool>,
}

impl Fault {
    fn validate(&self) -> Result<(), String> {
        let route_ok = self.route == "*"
            || self.route.split_once(' ').is_some_and(|(method, path)| {
                matches!(method, "GET" | "POST" | "DELETE") && path.starts_with("/v1/")
            });
        if !route_ok {
            return Err(format!(
                "route must be \"*\" or like \"POST /v1/customers\", got {:?}",
                self.route
            ));
        }
        match (self.kind, self.status) {
            (Kind::Status, Some(429 | 500..=599)) => {}
            (Kind::Status, _) => return Err("a status fault needs status 429 or 500..=599".into()),
            (_, Some(_)) => return Err("status is only for kind \"status\"".into()),
            (_, None) => {}
        }
        if self.delay_ms.is_some() && self.kind != Kind::Timeout {
            return Err("delay_ms is only for kind \"timeout\"".into());
        }
        if self.times == Some(0) {
            return Err("times must be at least 1 (omit it for \"until cleared\")".into());
        }
        Ok(())
    }

    fn applies_to(&self, route: &str, when: When) -> bool {
        self.when == when && (self.route == "*" || self.route == route)
    }

    /// A timeout holds the request this long before its answer.
    pub async fn hold(&self) {
        if self.kind == Kind::Timeout {
            let delay_ms = self.delay_ms.unwrap_or(DEFAULT_TIMEOUT_MS);
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
    }

    /// The response the client gets (after [`Fault::hold`]).
    pub fn response(&self) -> Response {
        let error = match self.kind {
            Kind::Reset => return connection_reset(),
            Kind::Timeout => ApiError::server_error(StatusCode::INTERNAL_SERVER_ERROR),
            Kind::Status => match self.status.and_then(|s| StatusCode::from_u16(s).ok()) {
                Some(StatusCode::TOO_MANY_REQUESTS) => ApiError::rate_limited(),
                Some(status) => ApiError::server_error(status),
                None => ApiError::server_error(StatusCode::INTERNAL_SERVER_ERROR),
            },
        };
        error.should_retry(self.should_retry).into_response()
    }
}

/// Marks a response whose connection is dropped, for the request log.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionReset;

/// A response whose body fails before its first byte: hyper then closes the connection without
/// writing the status line, which the client sees as a reset.
pub fn connection_reset() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "stripe-fake: injected connection reset",
        ))
    });
    let mut response = Response::new(Body::from_stream(failing));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.extensions_mut().insert(ConnectionReset);
    response
}

#[derive(Debug, Default)]
pub struct Faults {
    faults: Mutex<Vec<Fault>>,
    next_id: AtomicU64,
    /// Requests a fault hit since the last clear (a test can tell an injected fault from one
    /// that never fired).
    fired: AtomicU64,
}

/// What clearing the faults reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cleared {
    pub faults: usize,
    pub fired: u64,
}

impl Faults {
    pub fn add(&self, mut fault: Fault) -> Result<Fault, String> {
        fault.validate()?;
        fault.id = self.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        lock(&self.faults).push(fault.clone());
        Ok(fault)
    }

    /// The first fault for this route and phase, counting one use of it.
    pub fn take(&self, route: &str, when: When) -> Option<Fault> {
        let mut faults = lock(&self.faults);
        let index = faults.iter().position(|f| f.applies_to(route, when))?;
        let fault = faults[index].clone();
        self.fired.fetch_add(1, Ordering::Relaxed);
        match &mut faults[index].times {
            Some(1) => {
                faults.remove(index);
            }
            Some(n) => *n -= 1,
            None => {}
        }
        Some(fault)
    }

    pub fn list(&self) -> Vec<Fault> {
        lock(&self.faults).clone()
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut faults = lock(&self.faults);
        let before = faults.len();
        faults.retain(|f| f.id != id);
        faults.len() != before
    }

    /// Removes every fault; reports how many there were and how often faults fired since the
    /// last clear.
    pub fn clear(&self) -> Cleared {
        Cleared {
            faults: std::mem::take(&mut *lock(&self.faults)).len(),
            fired: self.fired.swap(0, Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(json: &str) -> Result<Fault, String> {
        serde_json::from_str::<Fault>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn times_are_counted_and_routes_matched() {
        let faults = Faults::default();
        let added =
            fault(r#"{"route":"POST /v1/customers","kind":"status","status":500,"times":2}"#)
                .and_then(|f| faults.add(f));
        assert!(added.is_ok());
        assert!(faults.take("GET /v1/customers", When::Before).is_none());
        assert!(faults.take("POST /v1/customers", When::After).is_none());
        assert!(faults.take("POST /v1/customers", When::Before).is_some());
        assert!(faults.take("POST /v1/customers", When::Before).is_some());
        assert!(faults.take("POST /v1/customers", When::Before).is_none());
        assert_eq!(
            faults.clear(),
            Cleared {
                faults: 0,
                fired: 2
            }
        );
        assert_eq!(faults.clear().fired, 0, "counted again from the clear");
    }

    #[test]
    fn invalid_faults_are_refused() {
        let faults = Faults::default();
        for bad in [
            r#"{"route":"POST /v1/customers","kind":"status"}"#,
            r#"{"route":"POST /v1/customers","kind":"status","status":404}"#,
            r#"{"route":"customers","kind":"reset"}"#,
            r#"{"route":"*","kind":"reset","delay_ms":5}"#,
            r#"{"route":"*","kind":"reset","times":0}"#,
        ] {
            assert!(fault(bad).and_then(|f| faults.add(f)).is_err(), "{bad}");
        }
        assert!(fault(r#"{"route":"*","kind":"status","status":503,"bogus":1}"#).is_err());
    }
}
