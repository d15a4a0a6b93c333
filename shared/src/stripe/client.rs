//! The async-stripe client: built once from the key in Secrets Manager, every call a bounded
//! retry of a read or of a write under an idempotency key.

use super::{GatewayError, SigningSecret};
use crate::domain::{IdempotencyKey, StripeCustomerId};
use crate::secrets::{SecretError, StripeKeys, read_secret};
use async_trait::async_trait;
use secrecy::ExposeSecret;
use std::future::Future;
use std::time::Duration;
use stripe::{RequestStrategy, StripeError, StripeRequest};
use tokio::sync::OnceCell;
use url::Url;

/// async-stripe client, built on first use from the key in Secrets Manager (once per container;
/// functions that never call Stripe never read the secret).
pub struct StripeGateway {
    secrets: aws_sdk_secretsmanager::Client,
    secret_id: String,
    api_base: Option<Url>,
    /// `STRIPE_TEST_CLOCKS`: new customers each get a test clock (test keys only).
    pub(super) test_clocks: bool,
    connection: OnceCell<Connection>,
}

/// The client and the webhook signing secret, from one read of the Stripe secret.
struct Connection {
    client: stripe::Client,
    webhook_secret: Option<secrecy::SecretString>,
}

#[async_trait]
impl SigningSecret for StripeGateway {
    async fn webhook_secret(&self) -> Result<Option<secrecy::SecretString>, GatewayError> {
        Ok(self.connection().await?.webhook_secret.clone())
    }
}

/// Per-attempt timeout: the API Gateway integration allows 30 s for the whole request.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts for requests that are safe to repeat (GETs, POSTs under a fixed idempotency key).
pub(super) const MAX_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);

impl StripeGateway {
    pub fn new(
        secrets: aws_sdk_secretsmanager::Client,
        secret_id: String,
        api_base: Option<Url>,
        test_clocks: bool,
    ) -> Self {
        Self {
            secrets,
            secret_id,
            api_base,
            test_clocks,
            connection: OnceCell::new(),
        }
    }

    async fn client(&self) -> Result<&stripe::Client, GatewayError> {
        Ok(&self.connection().await?.client)
    }

    /// Sends a read (safe to repeat), with bounded retries on transient failures.
    pub(super) async fn read<R>(&self, request: &R) -> Result<R::Output, GatewayError>
    where
        R: StripeRequest + Sync,
        R::Output: miniserde::Deserialize + Send,
    {
        let client = self.client().await?;
        with_retries(|| request.customize().send(client)).await
    }

    /// Sends a change under a fixed idempotency key, so retries (ours, and the caller's with the
    /// same key) can never apply it twice.
    pub(super) async fn write<R>(
        &self,
        request: &R,
        idempotency_key: &IdempotencyKey,
    ) -> Result<R::Output, GatewayError>
    where
        R: StripeRequest + Sync,
        R::Output: miniserde::Deserialize + Send,
    {
        let client = self.client().await?;
        let strategy = idempotent(idempotency_key.as_str())?;
        with_retries(|| {
            request
                .customize()
                .request_strategy(strategy.clone())
                .send(client)
        })
        .await
    }

    async fn connection(&self) -> Result<&Connection, GatewayError> {
        self.connection
            .get_or_try_init(|| async {
                let document = read_secret(&self.secrets, &self.secret_id)
                    .await
                    .map_err(GatewayError::Credentials)?;
                let keys = StripeKeys::parse(&self.secret_id, &document)
                    .map_err(GatewayError::Credentials)?;
                // Test clocks exist only in test mode; a live key here is a misconfiguration.
                if self.test_clocks && keys.is_live() {
                    return Err(GatewayError::Credentials(SecretError::Malformed {
                        secret_id: self.secret_id.clone(),
                        problem: "api_key is a live key but STRIPE_TEST_CLOCKS is on",
                    }));
                }
                let mut builder = stripe::ClientBuilder::new(keys.api_key.expose_secret())
                    .timeout(ATTEMPT_TIMEOUT);
                if let Some(base) = &self.api_base {
                    builder = builder.url(base.as_str());
                }
                let client = builder
                    .build()
                    .map_err(|e| GatewayError::Unavailable(Box::new(e)))?;
                Ok(Connection {
                    client,
                    webhook_secret: keys.webhook_secret,
                })
            })
            .await
    }
}

fn idempotent(key: &str) -> Result<RequestStrategy, GatewayError> {
    let key = stripe::IdempotencyKey::new(key).map_err(|e| GatewayError::Rejected {
        status: 0,
        code: format!("invalid idempotency key: {e}"),
    })?;
    Ok(RequestStrategy::Idempotent(key))
}

/// Stripe's transient statuses (409 = same idempotency key still in flight).
fn is_retryable(error: &StripeError) -> bool {
    match error {
        StripeError::Stripe(_, status) => matches!(status, 409 | 429 | 500..=599),
        StripeError::ClientError(_) | StripeError::Timeout => true,
        StripeError::JSONDeserialize(_) | StripeError::ConfigError(_) => false,
    }
}

fn into_gateway_error(error: StripeError) -> GatewayError {
    match error {
        StripeError::Stripe(ref details, 400)
            if details.type_ == stripe_shared::ApiErrorsType::IdempotencyError =>
        {
            GatewayError::IdempotencyConflict
        }
        StripeError::Stripe(ref details, 402)
            if details.type_ == stripe_shared::ApiErrorsType::CardError =>
        {
            GatewayError::CardError {
                code: details
                    .code
                    .as_ref()
                    .map(|c| c.as_str().to_owned())
                    .unwrap_or_else(|| "card_declined".to_owned()),
                decline_code: details.decline_code.clone(),
            }
        }
        StripeError::Stripe(ref details, status) if !is_retryable(&error) => {
            let code = details
                .code
                .as_ref()
                .map(|c| c.as_str().to_owned())
                .unwrap_or_else(|| "none".to_owned());
            GatewayError::Rejected { status, code }
        }
        StripeError::Stripe(_, 500..=599) => GatewayError::ServerError(Box::new(error)),
        other if is_retryable(&other) => GatewayError::Unavailable(Box::new(other)),
        other => GatewayError::Rejected {
            status: 0,
            code: other.to_string(),
        },
    }
}

/// Repeats a request that is safe to repeat, with exponential backoff, on transient failures.
async fn with_retries<T, F, Fut>(mut attempt: F) -> Result<T, GatewayError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, StripeError>>,
{
    let mut backoff = FIRST_BACKOFF;
    for attempt_number in 1..=MAX_ATTEMPTS {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(error) if is_retryable(&error) && attempt_number < MAX_ATTEMPTS => {
                tracing::warn!(attempt = attempt_number, error = %error, "stripe request failed; retrying");
                tokio::time::sleep(jittered(backoff)).await;
                backoff *= 2;
            }
            Err(error) => return Err(into_gateway_error(error)),
        }
    }
    unreachable!("the last attempt returns")
}

/// Half the backoff plus a random part of the other half ("equal jitter"): containers that were
/// rate-limited together (an event storm, a month-end burst) do not retry in lockstep and meet
/// Stripe's limiter again at the same instant.
fn jittered(backoff: Duration) -> Duration {
    let half = backoff / 2;
    half + half.mul_f64(fastrand::f64())
}

pub(super) fn customer_id(
    id: &stripe_shared::CustomerId,
) -> Result<StripeCustomerId, GatewayError> {
    StripeCustomerId::parse(id.as_str()).map_err(|e| GatewayError::Rejected {
        status: 200,
        code: format!("unexpected customer id: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_are_jittered_between_half_and_the_whole_backoff() {
        let backoff = Duration::from_millis(400);
        let waits: Vec<Duration> = (0..200).map(|_| jittered(backoff)).collect();
        assert!(waits.iter().all(|w| *w >= backoff / 2 && *w <= backoff));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "spread, not one fixed wait");
    }
}
