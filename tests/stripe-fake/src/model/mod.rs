//! The fake's state: Stripe objects kept as the JSON Stripe returns, and the operations on them
//! that the routes, the billing engine and the control API share. Nothing here knows about HTTP
//! requests; errors are Stripe's error object, which the HTTP layer renders.

pub mod behaviours;
pub mod calendar;
pub mod cards;
pub mod catalogue;
pub mod clock;
pub mod customers;
pub mod error;
pub mod events;
pub mod ids;
pub mod intents;
pub mod metadata;
pub mod payment_methods;
pub mod search;
pub mod setup_intents;
pub mod store;
pub mod versions;
