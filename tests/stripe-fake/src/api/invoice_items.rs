//! `/v1/invoiceitems`: list and retrieve (the fake makes invoice items only as prorations).

use serde_json::Value;

use crate::http::params::{Params, Spec};
use crate::http::resource::{Listed, Resource};
use crate::model::error::ApiError;
use crate::model::store::{Collection, Store};

pub struct InvoiceItems;

impl Resource for InvoiceItems {
    const NAME: &'static str = "invoiceitem";

    fn collection(store: &Store) -> &Collection {
        &store.invoice_items
    }
}

impl Listed for InvoiceItems {
    const URL: &'static str = "/v1/invoiceitems";
    const LIST: Spec = Spec::list(
        &["created", "customer", "invoice", "pending"],
        &["customer_account"],
    );

    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        let customer = params.string("customer")?.filter(|c| !c.is_empty());
        let invoice = params.string("invoice")?.filter(|i| !i.is_empty());
        let pending = params.boolean("pending")?;
        Ok(move |item: &Value| {
            customer.is_none_or(|c| item["customer"] == c)
                && invoice.is_none_or(|i| item["invoice"] == i)
                && pending.is_none_or(|p| item["invoice"].is_null() == p)
        })
    }
}
