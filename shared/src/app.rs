//! Per-container dependencies, built once at cold start and lent to every request.

use crate::auth::{HttpJwksSource, JwksCache, TokenKeys, TokenVerifier};
use crate::config::{AuthSettings, ConfigError, ProcessEnv, Settings, TokenKeySource};
use crate::secrets::read_secret;
use crate::service::subscriptions::PlanCatalogue;
use crate::store::{CustomerStore, DynamoCustomerStore, DynamoEventLog, EventLog};
use crate::stripe::subscriptions::SubscriptionGateway;
use crate::stripe::{PaymentGateway, StripeGateway};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use jsonwebtoken::DecodingKey;
use secrecy::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

pub type InitError = Box<dyn std::error::Error + Send + Sync>;

/// Everything an endpoint may use. Ports are trait objects so tests swap in fakes.
pub struct App {
    pub settings: Settings,
    pub customers: Arc<dyn CustomerStore>,
    pub payments: Arc<dyn PaymentGateway>,
    pub subscriptions: Arc<dyn SubscriptionGateway>,
    /// Per-container cache of the plan prices.
    pub plan_catalogue: PlanCatalogue,
    pub events: Arc<dyn EventLog>,
    pub signing: Arc<dyn SigningSecret>,
}

/// The webhook signing secret's source (the Stripe secret document).
#[async_trait::async_trait]
pub trait SigningSecret: Send + Sync {
    async fn webhook_secret(
        &self,
    ) -> Result<Option<secrecy::SecretString>, crate::stripe::GatewayError>;
}

#[async_trait::async_trait]
impl SigningSecret for StripeGateway {
    async fn webhook_secret(
        &self,
    ) -> Result<Option<secrecy::SecretString>, crate::stripe::GatewayError> {
        Ok(StripeGateway::webhook_secret(self).await?.cloned())
    }
}

/// A fixed signing secret, for tests.
pub struct FixedSigningSecret(pub Option<&'static str>);

#[async_trait::async_trait]
impl SigningSecret for FixedSigningSecret {
    async fn webhook_secret(
        &self,
    ) -> Result<Option<secrecy::SecretString>, crate::stripe::GatewayError> {
        Ok(self.0.map(secrecy::SecretString::from))
    }
}

/// One AWS config per container, with rustls on ring (no aws-lc build, smaller binary).
///
/// Building a client loads the OS trust store (most of our init time, see tests/bench). It stays
/// here on purpose: Lambda runs init with burst CPU, while a 128 MB function's invocations get
/// about a fourteenth of a vCPU, so the same parsing deferred to the first call costs more.
async fn aws_config() -> aws_config::SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(aws_timeouts())
        .load()
        .await
}

/// DynamoDB and Secrets Manager answer in milliseconds; a call that hangs must fail as
/// `*_unavailable` (503, retry) well inside the function's 25 s and API Gateway's 30 s, not
/// time the whole invocation out. The SDK sets no attempt or operation timeout by default.
fn aws_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
}

impl App {
    /// Reads settings and builds clients. The Stripe key is not read here: the gateway reads it
    /// on its first call, so functions that never call Stripe never touch Secrets Manager.
    pub async fn load() -> Result<Self, InitError> {
        let settings = Settings::from_env(&ProcessEnv)?;
        let aws = aws_config().await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&aws);
        let customers =
            DynamoCustomerStore::new(dynamodb.clone(), settings.customers_table.clone());
        let events = DynamoEventLog::new(dynamodb, settings.webhook_events_table.clone());
        // One Stripe client (and one secret read) serves both ports.
        let stripe = Arc::new(StripeGateway::new(
            aws_sdk_secretsmanager::Client::new(&aws),
            settings.stripe_secret_id.clone(),
            settings.stripe_api_base.clone(),
        ));
        Ok(Self {
            settings,
            customers: Arc::new(customers),
            payments: stripe.clone(),
            subscriptions: stripe.clone(),
            plan_catalogue: PlanCatalogue::default(),
            events: Arc::new(events),
            signing: stripe,
        })
    }
}

/// Builds the authorizer's token verifier: the HS256 secret is read now (once per container);
/// JWKS keys are fetched on the first token and cached.
pub async fn load_token_verifier() -> Result<TokenVerifier, InitError> {
    let settings = AuthSettings::from_env(&ProcessEnv)?;
    let keys = match &settings.keys {
        TokenKeySource::Jwks(url) => {
            TokenKeys::Jwks(JwksCache::new(Box::new(HttpJwksSource::new(url.clone()))))
        }
        TokenKeySource::Hs256SecretId(secret_id) => {
            let client = aws_sdk_secretsmanager::Client::new(&aws_config().await);
            let secret = read_secret(&client, secret_id).await?;
            if secret.expose_secret().len() < 32 {
                return Err(ConfigError {
                    variable: "JWT_HS256_SECRET_ID",
                    problem: "names a secret shorter than 32 bytes".into(),
                }
                .into());
            }
            TokenKeys::Hs256(DecodingKey::from_secret(secret.expose_secret().as_bytes()))
        }
    };
    Ok(TokenVerifier::new(
        settings.issuer,
        settings.audience,
        settings.claims,
        keys,
    ))
}
