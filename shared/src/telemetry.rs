//! Structured logs: JSON in Lambda (`AWS_LAMBDA_LOG_FORMAT=JSON`), text locally; level from
//! `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`. The runtime's span carries the request id.

pub fn init() {
    lambda_runtime::tracing::init_default_subscriber();
}
