//! API Gateway Lambda REQUEST authorizer: verifies the bearer JWT, passes the principal on.

#[tokio::main]
async fn main() -> Result<(), billing_core::app::InitError> {
    billing_core::auth::run_authorizer().await
}
