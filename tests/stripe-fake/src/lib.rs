//! A stateful, in-memory fake of the Stripe API for the local stack and tests. README.md lists the
//! endpoints, the `/_fake` control API and the behaviours that are guesses; SEMANTICS.md says what
//! real Stripe does, with sources (comments cite it as "SEMANTICS §N").
//!
//! The layers, top down; each uses only those below it:
//! - `api` (Stripe's `/v1` routes, one module per resource) and `control` (the `/_fake` routes
//!   that tests and the dev stack use to steer the fake).
//! - `http`: what every `/v1` request goes through, written once (auth, form parameters, faults,
//!   idempotency, `expand[]`, pagination), and the retrieve/list handlers stored resources share.
//! - `billing`: the engine behind subscriptions, invoices, prorations, schedules and the clock.
//! - `model`: the store of Stripe objects as JSON and the operations on them (customers, payment
//!   methods, SetupIntents, the catalogue, events), with Stripe's error object.
//!
//! `app` holds one fake's state, which `server` hands to the routes; `webhooks` delivers the
//! events the model records.

// Stripe's invoice object is larger than `serde_json::json!` expands with the default limit.
#![recursion_limit = "256"]

mod api;
mod app;
mod billing;
mod control;
mod http;
mod model;
mod server;
mod webhooks;

pub use app::{Config, DEFAULT_PORT};
pub use model::catalogue::Catalogue;
pub use server::{RunningFake, serve, spawn};

/// The API version whose shapes the fake speaks (the one async-stripe 1.0.0-rc.10 pins).
pub const API_VERSION: &str = "2026-09-30.endive";
