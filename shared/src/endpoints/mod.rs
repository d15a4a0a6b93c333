//! The HTTP endpoints, one per Lambda function. Each carries its contract ([`Endpoint`]): route,
//! caller, wire types (required fields required, turned into a use case's command with
//! `TryFrom`), the errors it can answer — and calls one use case.
//!
//! | module | routes |
//! |---|---|
//! | [`customers`] | `GET`/`POST /billing/customer` |
//! | [`invoices`] | `GET /billing/invoices`, `POST /billing/invoices/{id}/pay` |
//! | [`payment_methods`] | `/billing/payment-methods…`, `/billing/setup-intents`, `/billing/portal-session` |
//! | [`subscriptions`] | `/billing/plans`, `/billing/subscription…`, `/billing/invoice-preview` |
//! | [`webhook`] | `POST /billing/webhooks/stripe` (Stripe-signed) |

pub mod customers;
pub mod invoices;
pub mod payment_methods;
pub mod subscriptions;
pub mod webhook;

pub use customers::{EnsureCustomer, GetCustomer};
pub use invoices::{ListInvoices, PayInvoice};
pub use payment_methods::{
    CreatePortalSession, CreateSetupIntent, DetachPaymentMethod, ListPaymentMethods,
    SetDefaultPaymentMethod,
};
pub use subscriptions::{
    CancelSubscription, ChangePlan, GetSubscription, ListPlans, PreviewInvoice, ResumeSubscription,
    StartSubscriptionEndpoint,
};
pub use webhook::StripeWebhook;

use crate::http::Endpoint;

/// Something done once per endpoint of the API (generating the contract, checking routes).
pub trait EndpointVisitor {
    fn visit<E: Endpoint>(&mut self);
}

/// Every endpoint of the API, in the contract's order: the one list the contract is made from.
pub fn visit_all(visitor: &mut impl EndpointVisitor) {
    visitor.visit::<GetCustomer>();
    visitor.visit::<EnsureCustomer>();
    visitor.visit::<ListPaymentMethods>();
    visitor.visit::<CreateSetupIntent>();
    visitor.visit::<SetDefaultPaymentMethod>();
    visitor.visit::<DetachPaymentMethod>();
    visitor.visit::<CreatePortalSession>();
    visitor.visit::<ListPlans>();
    visitor.visit::<GetSubscription>();
    visitor.visit::<StartSubscriptionEndpoint>();
    visitor.visit::<PreviewInvoice>();
    visitor.visit::<ChangePlan>();
    visitor.visit::<CancelSubscription>();
    visitor.visit::<ResumeSubscription>();
    visitor.visit::<ListInvoices>();
    visitor.visit::<PayInvoice>();
    visitor.visit::<StripeWebhook>();
}

/// What every route that calls Stripe can also answer.
fn stripe_errors() -> Vec<crate::error::BillingError> {
    use crate::error::BillingError as E;
    vec![
        E::StripeUnavailable("upstream".into()),
        E::StripeRejected("upstream".into()),
    ]
}

/// `errors` plus what every route that calls Stripe can answer.
fn with_stripe(mut errors: Vec<crate::error::BillingError>) -> Vec<crate::error::BillingError> {
    errors.extend(stripe_errors());
    errors
}
