//! The Stripe API routes under `/v1`, all behind the shared request pipeline: one module per
//! resource with its parameter specs and handlers; stored resources share `retrieve` and `list`.

mod billing_portal;
mod customers;
mod events;
mod intents;
mod invoice_items;
mod invoices;
mod payment_intents;
mod payment_methods;
mod prices;
mod products;
mod setup_intents;
mod subscription_schedules;
mod subscriptions;
mod test_clocks;
mod webhook_endpoints;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::app::App;
use crate::http::pipeline::{api_layer, unrecognized};
use crate::http::resource::{list, retrieve};
use customers::Customers;
use events::Events;
use invoice_items::InvoiceItems;
use invoices::Invoices;
use payment_intents::PaymentIntents;
use payment_methods::PaymentMethods;
use prices::Prices;
use products::Products;
use subscription_schedules::SubscriptionSchedules;
use subscriptions::Subscriptions;
use test_clocks::TestClocks;
use webhook_endpoints::WebhookEndpoints;

pub fn router(app: App) -> Router<App> {
    Router::new()
        .route("/customers", get(list::<Customers>).post(customers::create))
        .route("/customers/search", get(customers::search))
        .route(
            "/customers/{id}",
            get(retrieve::<Customers>)
                .post(customers::update)
                .delete(customers::delete),
        )
        .route(
            "/webhook_endpoints",
            get(list::<WebhookEndpoints>).post(webhook_endpoints::create),
        )
        .route(
            "/webhook_endpoints/{id}",
            get(retrieve::<WebhookEndpoints>)
                .post(webhook_endpoints::update)
                .delete(webhook_endpoints::delete),
        )
        .route(
            "/customers/{id}/payment_methods",
            get(payment_methods::list_for_customer),
        )
        .route(
            "/customers/{customer}/payment_methods/{id}",
            get(payment_methods::retrieve_for_customer),
        )
        .route("/payment_methods", get(payment_methods::list))
        .route("/payment_methods/{id}", get(retrieve::<PaymentMethods>))
        .route(
            "/payment_methods/{id}/attach",
            post(payment_methods::attach),
        )
        .route(
            "/payment_methods/{id}/detach",
            post(payment_methods::detach),
        )
        .route(
            "/setup_intents",
            get(list::<setup_intents::SetupIntents>).post(setup_intents::create),
        )
        .route(
            "/setup_intents/{id}",
            get(intents::retrieve::<setup_intents::SetupIntents>),
        )
        .route("/setup_intents/{id}/confirm", post(setup_intents::confirm))
        .route("/setup_intents/{id}/cancel", post(setup_intents::cancel))
        .route("/billing_portal/sessions", post(billing_portal::create))
        .route("/products", post(products::create))
        .route("/products/{id}", get(retrieve::<Products>))
        .route("/prices", get(list::<Prices>).post(prices::create))
        .route("/prices/{id}", get(retrieve::<Prices>))
        .route(
            "/subscriptions",
            get(list::<Subscriptions>).post(subscriptions::create),
        )
        .route(
            "/subscriptions/{id}",
            get(retrieve::<Subscriptions>)
                .post(subscriptions::update)
                .delete(subscriptions::cancel),
        )
        .route(
            "/subscription_schedules",
            get(list::<SubscriptionSchedules>).post(subscription_schedules::create),
        )
        .route(
            "/subscription_schedules/{id}",
            get(retrieve::<SubscriptionSchedules>).post(subscription_schedules::update),
        )
        .route(
            "/subscription_schedules/{id}/release",
            post(subscription_schedules::release),
        )
        .route(
            "/subscription_schedules/{id}/cancel",
            post(subscription_schedules::cancel),
        )
        .route("/invoices", get(list::<Invoices>))
        .route("/invoices/create_preview", post(invoices::create_preview))
        .route("/invoices/{id}", get(retrieve::<Invoices>))
        .route("/invoices/{id}/lines", get(invoices::lines))
        .route("/invoices/{id}/pay", post(invoices::pay))
        .route("/payment_intents", get(list::<PaymentIntents>))
        .route(
            "/payment_intents/{id}",
            get(intents::retrieve::<PaymentIntents>),
        )
        .route(
            "/payment_intents/{id}/confirm",
            post(payment_intents::confirm),
        )
        .route("/invoiceitems", get(list::<InvoiceItems>))
        .route("/invoiceitems/{id}", get(retrieve::<InvoiceItems>))
        .route(
            "/test_helpers/test_clocks",
            get(list::<TestClocks>).post(test_clocks::create),
        )
        .route(
            "/test_helpers/test_clocks/{id}",
            get(retrieve::<TestClocks>).delete(test_clocks::delete),
        )
        .route(
            "/test_helpers/test_clocks/{id}/advance",
            post(test_clocks::advance),
        )
        .route("/events", get(list::<Events>))
        .route("/events/{id}", get(retrieve::<Events>))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(from_fn_with_state(app, api_layer))
}
