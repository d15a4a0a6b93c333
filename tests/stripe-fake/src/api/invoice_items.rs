//! `/v1/invoiceitems`: list and retrieve (the fake makes invoice items only as prorations).

use axum::extract::{Path, State};
use serde_json::Value;

use crate::app::App;
use crate::error::ApiError;
use crate::list;
use crate::params::{EXPAND_ONLY, Spec};
use crate::pipeline::{ApiRequest, ApiResult};

const RESOURCE: &str = "invoiceitem";
const URL: &str = "/v1/invoiceitems";

const LIST: Spec = Spec::new(
    &[
        "created",
        "customer",
        "ending_before",
        "expand",
        "invoice",
        "limit",
        "pending",
        "starting_after",
    ],
    &["customer_account"],
);

pub async fn list(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&LIST)?;
    let customer = params.string("customer")?.filter(|c| !c.is_empty());
    let invoice = params.string("invoice")?.filter(|i| !i.is_empty());
    let pending = params.boolean("pending")?;
    app.read(|store| {
        let include = |item: &Value| {
            customer.is_none_or(|c| item["customer"] == c)
                && invoice.is_none_or(|i| item["invoice"] == i)
                && pending.is_none_or(|p| item["invoice"].is_null() == p)
        };
        let page = list::page(
            params,
            store.invoice_items.newest_first(),
            include,
            URL,
            RESOURCE,
        )?;
        request.render(store, page)
    })
}

pub async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&EXPAND_ONLY)?;
    app.read(|store| {
        let item = store
            .invoice_items
            .get(&id)
            .cloned()
            .ok_or_else(|| ApiError::no_such(RESOURCE, &id))?;
        request.render(store, item)
    })
}
