//! What every AWS client here shares: one SDK configuration per container and one way to sort
//! an SDK failure into "try again later" or "broken".

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use std::time::Duration;

/// One AWS config per container, with rustls on ring (no aws-lc build, smaller binary).
///
/// Building a client loads the OS trust store (most of our init time, see tests/bench). It stays
/// here on purpose: Lambda runs init with burst CPU, while a 128 MB function's invocations get
/// about a fourteenth of a vCPU, so the same parsing deferred to the first call costs more.
pub async fn sdk_config() -> aws_config::SdkConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http_client)
        .timeout_config(timeouts())
        .load()
        .await
}

/// DynamoDB and Secrets Manager answer in milliseconds; a call that hangs must fail as
/// `*_unavailable` (503, retry) well inside the function's 25 s and API Gateway's 30 s, not
/// time the whole invocation out. The SDK sets no attempt or operation timeout by default.
fn timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(3))
        .operation_timeout(Duration::from_secs(8))
        .build()
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
