//! Stripe writes whose outcome is unknown.
//!
//! A 5xx answer may come after Stripe executed the request, and Stripe saves it under the
//! idempotency key and replays it for 24 hours, so retrying under the same key fails the same way,
//! indefinitely. Stripe's advice is to treat the outcome as indeterminate and reconcile by reading
//! state (STRIPE-SEMANTICS.md, "Idempotency after errors"). Each use case says how its effect
//! reads back; [`write_reconciled`] does the rest once. (A timeout or a dropped connection is not
//! reconciled here: Stripe keeps the real answer under the key, so the client's retry with the
//! same key gets it; reconciling would also double the worst-case latency past the gateway's.)

use crate::domain::IdempotencyKey;
use crate::error::BillingError;
use crate::stripe::GatewayError;
use std::future::Future;

/// Sends `write` under `key`. When the outcome is unknown, `read_back` looks for the effect: if it
/// is there, that is the answer (what the first success would have been); if not, the write is
/// sent once more under a fresh key — for writes that set a state (a later completion of the first
/// attempt sets the same state) or that `read_back` would have found had the first made them.
pub(crate) async fn write_reconciled<T, W, WF, R, RF>(
    key: &IdempotencyKey,
    write: W,
    read_back: R,
) -> Result<T, BillingError>
where
    W: Fn(IdempotencyKey) -> WF,
    WF: Future<Output = Result<T, GatewayError>>,
    R: FnOnce() -> RF,
    RF: Future<Output = Result<Option<T>, BillingError>>,
{
    match write(key.clone()).await {
        Err(GatewayError::ServerError(cause)) => {
            tracing::warn!(error = %cause, "stripe write outcome unknown; reading its effect back");
            if let Some(done) = read_back().await? {
                return Ok(done);
            }
            let fresh = key.derive(&format!("reconcile-{}", uuid::Uuid::new_v4().simple()));
            Ok(write(fresh).await?)
        }
        other => Ok(other?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn unknown() -> GatewayError {
        GatewayError::ServerError("500 replayed".into())
    }

    #[tokio::test]
    async fn an_effect_read_back_is_the_answer_and_nothing_is_resent() {
        let keys = Mutex::new(Vec::new());
        let answer = write_reconciled(
            &IdempotencyKey::raw("k"),
            |key| {
                keys.lock().unwrap().push(key.to_string());
                async { Err::<u8, _>(unknown()) }
            },
            || async { Ok(Some(7)) },
        )
        .await
        .unwrap();
        assert_eq!(answer, 7);
        assert_eq!(*keys.lock().unwrap(), ["k"]);
    }

    #[tokio::test]
    async fn without_the_effect_it_is_resent_once_under_a_fresh_key() {
        let keys = Mutex::new(Vec::new());
        let answer = write_reconciled(
            &IdempotencyKey::raw("k"),
            |key| {
                let first = keys.lock().unwrap().is_empty();
                keys.lock().unwrap().push(key.to_string());
                async move { if first { Err(unknown()) } else { Ok(9u8) } }
            },
            || async { Ok(None) },
        )
        .await
        .unwrap();
        assert_eq!(answer, 9);
        let keys = keys.lock().unwrap();
        assert_eq!(keys.len(), 2);
        assert!(
            keys[1].starts_with("k:reconcile-") && keys[1].len() > 20,
            "{keys:?}"
        );
    }

    #[tokio::test]
    async fn timeouts_and_refusals_are_not_reconciled() {
        for error in [GatewayError::Unavailable("timed out".into())] {
            let error = write_reconciled(
                &IdempotencyKey::raw("k"),
                |_| {
                    let error = GatewayError::Unavailable(error.to_string().into());
                    async move { Err::<u8, _>(error) }
                },
                || async { panic!("no read-back for a timeout") },
            )
            .await
            .unwrap_err();
            assert_eq!(error.code(), "stripe_unavailable");
        }
    }

    #[tokio::test]
    async fn refusals_are_not_reconciled() {
        let read = Mutex::new(false);
        let error = write_reconciled(
            &IdempotencyKey::raw("k"),
            |_| async {
                Err::<u8, _>(GatewayError::Rejected {
                    status: 400,
                    code: "x".into(),
                })
            },
            || async {
                *read.lock().unwrap() = true;
                Ok(Some(1))
            },
        )
        .await
        .unwrap_err();
        assert_eq!(error.code(), "stripe_error");
        assert!(!*read.lock().unwrap());
    }
}
