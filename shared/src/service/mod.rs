//! Billing use cases, one module per capability. Each use case takes exactly the ports it uses
//! (store, Stripe, plan prices) and the request's time; none sees HTTP, AWS or async-stripe types.

pub mod customers;
pub mod invoices;
pub mod payment_methods;
pub mod plans;
pub(crate) mod reconcile;
pub mod subscriptions;
pub mod webhooks;
