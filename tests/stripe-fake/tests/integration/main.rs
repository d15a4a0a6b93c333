//! End-to-end tests: a fake on an ephemeral port, driven over HTTP, by async-stripe's own client
//! and with webhooks received and verified by async-stripe-webhook.

// A failed expectation is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod billing_api;
mod billing_client;
mod faults;
mod idempotency;
mod payments_api;
mod payments_client;
mod refusals;
mod stripe_client;
mod support;
mod test_clocks;
mod webhooks;
