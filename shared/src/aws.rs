//! What every AWS client here shares: one SDK configuration per container and one way to sort
//! an SDK failure into "try again later" or "broken".

use crate::config::{ConfigError, Env, config_error, optional, required};
use crate::https::{HttpsConnector, TlsSettings};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// One AWS configuration per container, built from what Lambda puts in the environment and
/// nothing else: the execution role's credentials (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`), the region (`AWS_REGION`, else `AWS_DEFAULT_REGION`) and, for the local
/// stack, `AWS_ENDPOINT_URL`. No profile files, SSO, STS or IMDS provider is compiled in or
/// consulted (aws-config's default chain would try them), and the HTTPS client has its roots
/// compiled in, so building the clients reads no file.
pub(crate) fn sdk_config(env: &dyn Env, tls: &TlsSettings) -> Result<SdkConfig, ConfigError> {
    let region = optional(env, "AWS_REGION")
        .or_else(|| optional(env, "AWS_DEFAULT_REGION"))
        .ok_or_else(|| config_error("AWS_REGION", "is not set (nor AWS_DEFAULT_REGION)"))?;
    let credentials = Credentials::new(
        required(env, "AWS_ACCESS_KEY_ID")?,
        required(env, "AWS_SECRET_ACCESS_KEY")?,
        optional(env, "AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(SdkHttpClient::shared(tls.connector(CONNECT_TIMEOUT)))
        .timeout_config(timeouts());
    if let Some(endpoint) = optional(env, "AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint);
    }
    Ok(config.build())
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// DynamoDB and Secrets Manager answer in milliseconds; a call that hangs must fail as
/// `*_unavailable` (503, retry) well inside the function's 25 s and API Gateway's 30 s, not
/// time the whole invocation out. The SDK sets no attempt or operation timeout by default.
fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
}

/// The SDK's HTTP client over our connector: one connection pool per container, shared by every
/// AWS client. The connect timeout is the connector's own (the same [`CONNECT_TIMEOUT`] the
/// timeout config states); the attempt and operation timeouts are the SDK orchestrator's.
#[derive(Debug, Clone)]
struct SdkHttpClient(SharedHttpConnector);

impl SdkHttpClient {
    fn shared(connector: HttpsConnector) -> SharedHttpClient {
        let client = Client::builder(TokioExecutor::new()).build(connector);
        SharedHttpClient::new(Self(SharedHttpConnector::new(HyperConnector(client))))
    }
}

impl HttpClient for SdkHttpClient {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.clone()
    }
}

#[derive(Debug, Clone)]
struct HyperConnector(Client<HttpsConnector, SdkBody>);

impl HttpConnector for HyperConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.0.clone();
        HttpConnectorFuture::new(async move {
            let request = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::user(e.into()))?;
            let response = client.request(request).await.map_err(connector_error)?;
            HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                .map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// Failing to connect, or an I/O error on the way, is transient for the SDK's retry strategy
/// (as in the SDK's own hyper client); anything else is not retried.
fn connector_error(error: hyper_util::client::legacy::Error) -> ConnectorError {
    let io = error.is_connect() || {
        let mut source = std::error::Error::source(&error);
        let mut found = false;
        while let Some(cause) = source {
            found |= cause.is::<std::io::Error>();
            source = cause.source();
        }
        found
    };
    if io {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

/// An AWS call that failed, sorted by what a caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum SdkFailure {
    /// Throttling, timeouts, 5xx: worth retrying later.
    #[error("AWS unavailable")]
    Transient(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Anything else: a bug or a misconfiguration (wrong table, missing secret, bad item).
    #[error("AWS request failed")]
    Permanent(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Sorts an AWS SDK failure, for any service and operation.
pub(crate) fn classify_sdk_error<E, R>(error: SdkError<E, R>) -> SdkFailure
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    const TRANSIENT_CODES: &[&str] = &[
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "InternalFailure",
    ];
    let transient = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(service) => service
            .err()
            .code()
            .is_some_and(|code| TRANSIENT_CODES.contains(&code)),
        _ => false,
    };
    let source: Box<dyn std::error::Error + Send + Sync> =
        aws_sdk_dynamodb::error::DisplayErrorContext(error)
            .to_string()
            .into();
    if transient {
        SdkFailure::Transient(source)
    } else {
        SdkFailure::Permanent(source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn local(endpoint: &str) -> [(&'static str, String); 4] {
        [
            ("AWS_REGION", "eu-west-1".to_owned()),
            ("AWS_ACCESS_KEY_ID", "AKIDLOCAL".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "local-secret".to_owned()),
            ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ]
    }

    fn config(vars: &[(&'static str, String)]) -> Result<SdkConfig, ConfigError> {
        let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        sdk_config(&env, &TlsSettings::from_env(&[]).expect("roots"))
    }

    #[tokio::test]
    async fn a_client_from_the_environment_signs_and_sends_through_our_connector() {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header("x-amz-target", "DynamoDB_20120810.GetItem"))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/x-amz-json-1.0")
                    .set_body_string(r#"{"Item":{"org_id":{"S":"org_1"}}}"#),
            )
            .expect(1)
            .mount(&server)
            .await;
        let config = config(&local(&server.uri())).expect("complete environment");
        assert_eq!(config.region().map(|r| r.as_ref()), Some("eu-west-1"));
        let item = aws_sdk_dynamodb::Client::new(&config)
            .get_item()
            .table_name("billing_customers")
            .key(
                "org_id",
                aws_sdk_dynamodb::types::AttributeValue::S("org_1".into()),
            )
            .send()
            .await
            .expect("answered through the hyper-rustls connector")
            .item
            .expect("an item");
        assert!(item.contains_key("org_id"));
        let request = &server.received_requests().await.expect("recorded")[0];
        let authorization = request.headers["authorization"].to_str().expect("ascii");
        assert!(
            authorization.contains("Credential=AKIDLOCAL/"),
            "{authorization}"
        );
        assert!(
            authorization.contains("/eu-west-1/dynamodb/"),
            "{authorization}"
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_a_transient_failure() {
        let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
        let address = unused.local_addr().expect("address");
        drop(unused);
        let config = config(&local(&format!("http://{address}"))).expect("environment");
        let error = aws_sdk_dynamodb::Client::new(&config)
            .describe_table()
            .table_name("billing_customers")
            .send()
            .await
            .expect_err("connection refused");
        assert!(matches!(
            classify_sdk_error(error),
            SdkFailure::Transient(_)
        ));
    }

    #[test]
    fn a_missing_region_or_credential_is_named_at_init() {
        let mut vars = local("http://127.0.0.1:1").to_vec();
        vars.retain(|(k, _)| *k != "AWS_REGION");
        assert_eq!(config(&vars).err().map(|e| e.variable), Some("AWS_REGION"));
        vars.push(("AWS_DEFAULT_REGION", "us-east-1".into()));
        assert!(config(&vars).is_ok(), "AWS_DEFAULT_REGION is the fallback");
        vars.retain(|(k, _)| *k != "AWS_SECRET_ACCESS_KEY");
        assert_eq!(
            config(&vars).err().map(|e| e.variable),
            Some("AWS_SECRET_ACCESS_KEY")
        );
    }
}
