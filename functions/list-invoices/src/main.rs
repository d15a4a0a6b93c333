//! `GET /billing/invoices`

#[tokio::main]
async fn main() -> Result<(), billing_core::app::InitError> {
    billing_core::http::run(billing_core::endpoints::ListInvoices).await
}
