//! The Stripe API routes under `/v1`, all behind the shared request pipeline.

mod billing_portal;
pub mod customers;
mod events;
mod invoice_items;
mod invoices;
pub mod payment_methods;
mod prices;
mod products;
pub mod setup_intents;
mod subscription_schedules;
pub mod subscriptions;
mod webhook_endpoints;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};

use crate::app::App;
use crate::pipeline::{api_layer, unrecognized};

pub fn router(app: App) -> Router<App> {
    Router::new()
        .route("/customers", get(customers::list).post(customers::create))
        .route("/customers/search", get(customers::search))
        .route(
            "/customers/{id}",
            get(customers::retrieve)
                .post(customers::update)
                .delete(customers::delete),
        )
        .route(
            "/webhook_endpoints",
            get(webhook_endpoints::list).post(webhook_endpoints::create),
        )
        .route(
            "/webhook_endpoints/{id}",
            get(webhook_endpoints::retrieve)
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
        .route("/payment_methods/{id}", get(payment_methods::retrieve))
        .route(
            "/payment_methods/{id}/attach",
            post(payment_methods::attach_handler),
        )
        .route(
            "/payment_methods/{id}/detach",
            post(payment_methods::detach),
        )
        .route("/setup_intents", post(setup_intents::create))
        .route("/setup_intents/{id}", get(setup_intents::retrieve))
        .route("/setup_intents/{id}/confirm", post(setup_intents::confirm))
        .route("/setup_intents/{id}/cancel", post(setup_intents::cancel))
        .route("/billing_portal/sessions", post(billing_portal::create))
        .route("/products", post(products::create))
        .route("/products/{id}", get(products::retrieve))
        .route("/prices", get(prices::list).post(prices::create))
        .route("/prices/{id}", get(prices::retrieve))
        .route(
            "/subscriptions",
            get(subscriptions::list).post(subscriptions::create),
        )
        .route(
            "/subscriptions/{id}",
            get(subscriptions::retrieve)
                .post(subscriptions::update)
                .delete(subscriptions::cancel),
        )
        .route(
            "/subscription_schedules",
            get(subscription_schedules::list).post(subscription_schedules::create),
        )
        .route(
            "/subscription_schedules/{id}",
            get(subscription_schedules::retrieve).post(subscription_schedules::update),
        )
        .route(
            "/subscription_schedules/{id}/release",
            post(subscription_schedules::release),
        )
        .route(
            "/subscription_schedules/{id}/cancel",
            post(subscription_schedules::cancel),
        )
        .route("/invoices", get(invoices::list))
        .route("/invoices/create_preview", post(invoices::create_preview))
        .route("/invoices/{id}", get(invoices::retrieve))
        .route("/invoices/{id}/lines", get(invoices::lines))
        .route("/invoiceitems", get(invoice_items::list))
        .route("/invoiceitems/{id}", get(invoice_items::retrieve))
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::retrieve))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(from_fn_with_state(app, api_layer))
}
