//! The `/v1` HTTP layer, written once for every route: the request pipeline (auth, parameters,
//! faults, idempotency, response headers), how errors become responses, `expand[]`, pagination,
//! and the retrieve/list handlers that stored resources share.

pub mod counter;
pub mod error;
pub mod expand;
pub mod faults;
pub mod form;
pub mod idempotency;
pub mod list;
pub mod params;
pub mod pipeline;
pub mod resource;
