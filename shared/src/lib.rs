//! Core of the billing API: everything the Lambda functions share.
//!
//! A function crate is wiring only: it builds an [`app::App`] once per container and hands each
//! request to [`http::serve`] with the endpoint it implements. Business logic lives in
//! [`service`], behind the ports in [`store`] and [`stripe`], so tests run it on in-memory fakes.

pub mod app;
pub mod auth;
pub mod aws;
pub mod config;
pub mod domain;
pub mod endpoints;
pub mod error;
pub mod http;
mod https;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod secrets;
pub mod service;
pub mod store;
pub mod stripe;
pub mod telemetry;
#[cfg(test)]
pub(crate) mod testing;
#[cfg(test)]
mod warm_path;
