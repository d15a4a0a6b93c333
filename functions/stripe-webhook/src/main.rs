//! `POST /billing/webhooks/stripe` — authenticated by the Stripe signature, not the authorizer.

#[tokio::main]
async fn main() -> Result<(), billing_core::app::InitError> {
    billing_core::http::run_webhook().await
}
