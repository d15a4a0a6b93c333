//! `POST /billing/invoices/{id}/pay`

#[tokio::main]
async fn main() -> Result<(), billing_core::app::InitError> {
    billing_core::http::run(billing_core::endpoints::PayInvoice).await
}
