//! The retrieve and list handlers that stored resources share, written once: a resource names its
//! collection and how Stripe spells it, and a listed one its URL, parameters and filters. Routes
//! use them as `get(retrieve::<Invoices>)` and `get(list::<Invoices>)`.

use axum::extract::{Path, State};
use axum::response::Json;
use serde_json::Value;

use super::list;
use super::params::{EXPAND_ONLY, Params, Spec};
use super::pipeline::{ApiRequest, ApiResult};
use crate::app::App;
use crate::model::error::ApiError;
use crate::model::store::{Collection, Store};

/// One collection of the store as the API shows it.
pub trait Resource {
    /// The name in `No such <name>: 'id'` (Stripe's spelling varies: `PaymentMethod`, `invoice`).
    const NAME: &'static str;

    fn collection(store: &Store) -> &Collection;

    /// What retrieve answers instead of a stored object, as is, without `expand[]` (Stripe's
    /// `{"id", "object", "deleted": true}` for a deleted one).
    fn stub(_object: &Value) -> Option<Value> {
        None
    }

    /// The object with this id, or Stripe's 404.
    fn get(store: &Store, id: &str) -> Result<Value, ApiError> {
        Self::collection(store)
            .get(id)
            .cloned()
            .ok_or_else(|| ApiError::no_such(Self::NAME, id))
    }
}

/// A resource with a list endpoint.
pub trait Listed: Resource {
    /// The list's `url`.
    const URL: &'static str;
    /// Its parameters (a [`Spec::list`]).
    const LIST: Spec;

    /// Which objects the request's filters keep; a bad filter is refused before the store is read.
    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError>;
}

/// `GET /v1/<resource>/:id`: the object with `expand[]` applied, or its stub.
pub async fn retrieve<R: Resource>(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&EXPAND_ONLY)?;
    app.read(|store| {
        let object = R::get(store, &id)?;
        match R::stub(&object) {
            Some(stub) => Ok(Json(stub)),
            None => request.render(store, object),
        }
    })
}

/// `GET /v1/<resource>`: one page, newest first, of the objects the filters keep.
pub async fn list<R: Listed>(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&R::LIST)?;
    let include = R::filter(params)?;
    app.read(|store| {
        let page = list::page(
            params,
            R::collection(store).newest_first(),
            include,
            R::URL,
            R::NAME,
        )?;
        request.render(store, page)
    })
}
