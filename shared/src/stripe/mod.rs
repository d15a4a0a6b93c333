//! Stripe behind the ports in [`ports`]; [`StripeGateway`] implements them with async-stripe.

mod client;
mod invoices;
mod payments;
pub mod ports;
mod subscriptions;

pub use client::StripeGateway;
pub use ports::*;
pub use subscriptions::START_KEY_METADATA;
