//! The Stripe API routes under `/v1`, all behind the shared request pipeline.

mod customers;
mod events;
mod webhook_endpoints;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;

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
        .route("/events", get(events::list))
        .route("/events/{id}", get(events::retrieve))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(from_fn_with_state(app, api_layer))
}
