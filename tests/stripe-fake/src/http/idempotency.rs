//! Stripe's idempotency layer for POSTs: the first response under a key is saved and replayed;
//! a key reused with other parameters, or while its first request still runs, is refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes, to_bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::app::lock;
use crate::model::error::{ApiError, ErrorType};

/// Stripe prunes keys "after they're at least 24 hours old" (SEMANTICS §1): real time, so the
/// fake measures it on the wall clock (advancing the fake clock expires nothing). Tests may
/// shorten it (`POST /_fake/idempotency`).
pub const DEFAULT_LIFETIME_MS: i64 = 24 * 60 * 60 * 1000;
pub const MAX_KEY_LEN: usize = 255;

/// What a key is bound to: the endpoint and the parsed parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub endpoint: String,
    pub params: Value,
}

#[derive(Debug, Clone)]
pub struct Saved {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
    request_id: String,
}

impl Saved {
    pub fn replay(&self) -> Response {
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = self.headers.clone();
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        if let Ok(id) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert("original-request", id);
        }
        response
    }
}

#[derive(Debug)]
enum State {
    Running,
    Done(Saved),
}

#[derive(Debug)]
struct Entry {
    fingerprint: Fingerprint,
    created_ms: i64,
    state: State,
}

type Entries = Arc<Mutex<HashMap<String, Entry>>>;

#[derive(Debug)]
pub struct Idempotency {
    entries: Entries,
    lifetime_ms: AtomicI64,
}

impl Default for Idempotency {
    fn default() -> Self {
        Self {
            entries: Entries::default(),
            lifetime_ms: AtomicI64::new(DEFAULT_LIFETIME_MS),
        }
    }
}

pub enum Begin {
    Execute(Guard),
    Replay(Saved),
}

impl Idempotency {
    /// How long a key lives, in wall-clock milliseconds since its first use.
    pub fn lifetime_ms(&self) -> i64 {
        self.lifetime_ms.load(Ordering::Relaxed)
    }

    pub fn set_lifetime_ms(&self, lifetime_ms: i64) {
        self.lifetime_ms.store(lifetime_ms, Ordering::Relaxed);
    }

    /// `now_ms` is wall-clock time; `in_use_type` is the error `type` for a key whose first
    /// request still runs.
    pub fn begin(
        &self,
        key: &str,
        fingerprint: Fingerprint,
        now_ms: i64,
        in_use_type: ErrorType,
    ) -> Result<Begin, ApiError> {
        let lifetime_ms = self.lifetime_ms();
        let mut entries = lock(&self.entries);
        if let Some(entry) = entries
            .get(key)
            .filter(|e| now_ms - e.created_ms < lifetime_ms)
        {
            if entry.fingerprint.endpoint != fingerprint.endpoint {
                return Err(ApiError::idempotency_other_endpoint(
                    key,
                    &entry.fingerprint.endpoint,
                    &fingerprint.endpoint,
                ));
            }
            if entry.fingerprint.params != fingerprint.params {
                return Err(ApiError::idempotency_mismatch(key));
            }
            return match &entry.state {
                State::Running => Err(ApiError::idempotency_in_use(key, in_use_type)),
                State::Done(saved) => Ok(Begin::Replay(saved.clone())),
            };
        }
        entries.insert(
            key.to_owned(),
            Entry {
                fingerprint,
                created_ms: now_ms,
                state: State::Running,
            },
        );
        Ok(Begin::Execute(Guard {
            entries: Arc::clone(&self.entries),
            key: key.to_owned(),
            result: None,
        }))
    }

    /// Forgets every key and restores the default lifetime.
    pub fn clear(&self) {
        lock(&self.entries).clear();
        self.set_lifetime_ms(DEFAULT_LIFETIME_MS);
    }
}

/// Holds a key while its request runs; the key is settled when the guard drops. With a
/// [`Guard::record`]ed result the key then replays it, even if the client gave up waiting (the
/// request executed); without one (validation failure, client gone before execution) the key is
/// released so a retry executes afresh.
pub struct Guard {
    entries: Entries,
    key: String,
    result: Option<Saved>,
}

impl Guard {
    /// Records the response the key will replay, and gives it back. The key stays in use (a
    /// concurrent request gets 409) until the guard drops.
    pub async fn record(&mut self, response: Response, request_id: &str) -> Response {
        let (parts, body) = response.into_parts();
        let Ok(body) = to_bytes(body, usize::MAX).await else {
            return ApiError::server_error(StatusCode::INTERNAL_SERVER_ERROR).into_response();
        };
        self.result = Some(Saved {
            status: parts.status,
            headers: parts.headers.clone(),
            body: body.clone(),
            request_id: request_id.to_owned(),
        });
        Response::from_parts(parts, Body::from(body))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let mut entries = lock(&self.entries);
        match self.result.take() {
            Some(saved) => {
                if let Some(entry) = entries.get_mut(&self.key) {
                    entry.state = State::Done(saved);
                }
            }
            None => {
                if entries
                    .get(&self.key)
                    .is_some_and(|e| matches!(e.state, State::Running))
                {
                    entries.remove(&self.key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn begin(idem: &Idempotency, params: Value, now_ms: i64) -> Result<Begin, ApiError> {
        let fingerprint = Fingerprint {
            endpoint: "POST /v1/customers".into(),
            params,
        };
        idem.begin("k", fingerprint, now_ms, ErrorType::Idempotency)
    }

    #[tokio::test]
    async fn replay_mismatch_in_use_and_expiry() {
        let idem = Idempotency::default();
        let Ok(Begin::Execute(mut guard)) = begin(&idem, json!({"a": "1"}), 0) else {
            panic!("first use must execute")
        };
        let busy = begin(&idem, json!({"a": "1"}), 0).err().map(|e| e.status);
        assert_eq!(busy, Some(StatusCode::CONFLICT));
        let mismatch = begin(&idem, json!({"a": "2"}), 0).err().map(|e| e.status);
        assert_eq!(mismatch, Some(StatusCode::BAD_REQUEST));
        let _ = guard.record(Response::new(Body::from("{}")), "req_1").await;
        let still_running = begin(&idem, json!({"a": "1"}), 0).err().map(|e| e.status);
        assert_eq!(still_running, Some(StatusCode::CONFLICT));
        drop(guard);
        let Ok(Begin::Replay(saved)) = begin(&idem, json!({"a": "1"}), 1) else {
            panic!("second use must replay")
        };
        assert_eq!(saved.replay().headers()["idempotent-replayed"], "true");
        let expired = begin(&idem, json!({"a": "2"}), DEFAULT_LIFETIME_MS);
        assert!(matches!(expired, Ok(Begin::Execute(_))));
        drop(expired);
        idem.set_lifetime_ms(10);
        let Ok(Begin::Execute(mut guard)) = begin(&idem, json!({"b": "1"}), 0) else {
            panic!("first use must execute")
        };
        let _ = guard.record(Response::new(Body::from("{}")), "req_2").await;
        drop(guard);
        assert!(begin(&idem, json!({"c": "1"}), 9).is_err(), "still live");
        assert!(matches!(
            begin(&idem, json!({"c": "1"}), 10),
            Ok(Begin::Execute(_))
        ));
        idem.clear();
        assert_eq!(idem.lifetime_ms(), DEFAULT_LIFETIME_MS);
    }

    #[test]
    fn dropped_guard_releases_the_key() {
        let idem = Idempotency::default();
        drop(begin(&idem, json!({}), 0));
        assert!(matches!(
            begin(&idem, json!({"other": "x"}), 0),
            Ok(Begin::Execute(_))
        ));
    }
}
