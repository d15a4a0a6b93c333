//! `/v1/products`: retrieve and a basic create.

use axum::extract::State;
use serde_json::{Value, json};

use crate::app::App;
use crate::http::params::{Change, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::Resource;
use crate::model::catalogue::{self, NewProduct};
use crate::model::error::ApiError;
use crate::model::ids;
use crate::model::store::{Collection, Store};

pub struct Products;

impl Resource for Products {
    const NAME: &'static str = "product";

    fn collection(store: &Store) -> &Collection {
        &store.products
    }
}

const CREATE: Spec = Spec::new(
    &[
        "active",
        "description",
        "expand",
        "id",
        "images",
        "metadata",
        "name",
        "shippable",
        "statement_descriptor",
        "type",
        "unit_label",
        "url",
    ],
    &[
        "default_price_data",
        "marketing_features",
        "package_dimensions",
        "tax_code",
        "tax_details",
    ],
);

/// Optional product fields shared by create and `product_data` on price create.
pub fn apply(product: &mut Value, params: &Params) -> Result<(), ApiError> {
    if let Some(active) = params.boolean("active")? {
        product["active"] = json!(active);
    }
    for key in ["description", "statement_descriptor", "unit_label", "url"] {
        if let Change::Set(text) = params.text(key)? {
            product[key] = json!(text);
        }
    }
    if let Some(shippable) = params.boolean("shippable")? {
        product["shippable"] = json!(shippable);
    }
    match params.string("type")? {
        None => {}
        Some(kind @ ("good" | "service")) => product["type"] = json!(kind),
        Some(other) => {
            return Err(ApiError::invalid(
                "type",
                format!("Invalid type: must be one of good or service (got {other})"),
            ));
        }
    }
    if let Change::Set(images) = params.string_list("images")? {
        product["images"] = json!(images);
    }
    if let Some(update) = params.metadata()? {
        update.apply(&mut product["metadata"])?;
    }
    Ok(())
}

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&CREATE)?;
    let name = params.required_string("name")?;
    let id = params
        .string("id")?
        .filter(|id| !id.is_empty())
        .map_or_else(|| ids::generate("prod", ids::SHORT), str::to_owned);
    let mut product = catalogue::product_json(&NewProduct {
        id: id.clone(),
        name,
        created: app.clock.now(),
    });
    apply(&mut product, params)?;
    app.write(&request, |store, changes| {
        if store.products.get(&id).is_some() {
            return Err(ApiError::invalid_with_code(
                "id",
                "resource_already_exists",
                "Product already exists.",
            ));
        }
        changes.created("product.created", &product);
        store.products.insert(product.clone());
        request.render(store, product)
    })
}
