//! `POST /billing/webhooks/stripe` (no authorizer: the `Stripe-Signature` authenticates)

#[tokio::main]
async fn main() -> Result<(), billing_core::app::InitError> {
    billing_core::http::run(billing_core::endpoints::StripeWebhook).await
}
