//! `/v1/prices`: list (with `lookup_keys[]`), retrieve and a basic create.

use axum::extract::State;
use serde_json::{Value, json};

use super::products;
use crate::app::App;
use crate::http::params::{Change, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::calendar::Interval;
use crate::model::catalogue::{self, NewPrice, NewProduct, Recurrence};
use crate::model::error::ApiError;
use crate::model::ids;
use crate::model::store::{Collection, Store};

const LIST_RECURRING: Spec = Spec::new(&["interval", "usage_type"], &["meter"]);
const CREATE: Spec = Spec::new(
    &[
        "active",
        "billing_scheme",
        "currency",
        "expand",
        "lookup_key",
        "metadata",
        "nickname",
        "product",
        "product_data",
        "recurring",
        "tax_behavior",
        "transfer_lookup_key",
        "unit_amount",
    ],
    &[
        "currency_options",
        "custom_unit_amount",
        "tiers",
        "tiers_mode",
        "transform_quantity",
        "unit_amount_decimal",
    ],
);
const CREATE_RECURRING: Spec = Spec::new(
    &[
        "interval",
        "interval_count",
        "trial_period_days",
        "usage_type",
    ],
    &["meter"],
);
const PRODUCT_DATA: Spec = Spec::new(
    &[
        "active",
        "id",
        "metadata",
        "name",
        "statement_descriptor",
        "unit_label",
    ],
    &["tax_code", "tax_details"],
);
/// Stripe allows up to 10 lookup keys per list request.
const MAX_LOOKUP_KEYS: usize = 10;

fn interval(params: &Params) -> Result<Option<Interval>, ApiError> {
    params
        .string("interval")?
        .map(|value| {
            Interval::parse(value).ok_or_else(|| {
                ApiError::invalid(
                    params.name("interval"),
                    format!(
                        "Invalid {}: must be one of day, week, month, or year (got {value})",
                        params.name("interval")
                    ),
                )
            })
        })
        .transpose()
}

fn usage_type(params: &Params) -> Result<(), ApiError> {
    match params.string("usage_type")? {
        None | Some("licensed") => Ok(()),
        Some("metered") => Err(ApiError::not_implemented(
            &params.name("usage_type=metered"),
        )),
        Some(other) => Err(ApiError::invalid(
            params.name("usage_type"),
            format!("Invalid usage_type: must be one of licensed or metered (got {other})"),
        )),
    }
}

pub struct Prices;

impl Resource for Prices {
    const NAME: &'static str = "price";

    fn collection(store: &Store) -> &Collection {
        &store.prices
    }
}

impl Listed for Prices {
    const URL: &'static str = "/v1/prices";
    const LIST: Spec = Spec::list(
        &[
            "active",
            "created",
            "currency",
            "lookup_keys",
            "product",
            "recurring",
            "type",
        ],
        &[],
    );

    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        let active = params.boolean("active")?;
        let currency = params.string("currency")?.map(str::to_lowercase);
        let product = params.string("product")?.filter(|p| !p.is_empty());
        let kind = params.string("type")?;
        if let Some(bad) = kind.filter(|t| !["one_time", "recurring"].contains(t)) {
            return Err(ApiError::invalid(
                "type",
                format!("Invalid type: must be one of one_time or recurring (got {bad})"),
            ));
        }
        let lookup_keys = match params.string_list("lookup_keys")? {
            Change::Set(keys) => Some(keys),
            Change::Keep | Change::Clear => None,
        };
        if lookup_keys
            .as_ref()
            .is_some_and(|k| k.len() > MAX_LOOKUP_KEYS)
        {
            return Err(ApiError::invalid(
                "lookup_keys",
                format!("You can pass at most {MAX_LOOKUP_KEYS} lookup_keys."),
            ));
        }
        let recurring_interval = match params.hash("recurring")? {
            Change::Set(recurring) => {
                recurring.check(&LIST_RECURRING)?;
                usage_type(&recurring)?;
                interval(&recurring)?
            }
            Change::Keep | Change::Clear => None,
        };
        Ok(move |price: &Value| {
            active.is_none_or(|a| price["active"] == a)
                && currency
                    .as_ref()
                    .is_none_or(|c| price["currency"] == c.as_str())
                && product.is_none_or(|p| price["product"] == p)
                && kind.is_none_or(|t| price["type"] == t)
                && lookup_keys.as_ref().is_none_or(|keys| {
                    price["lookup_key"]
                        .as_str()
                        .is_some_and(|k| keys.iter().any(|key| key == k))
                })
                && recurring_interval.is_none_or(|i| price["recurring"]["interval"] == i.as_str())
        })
    }
}

fn recurrence(params: &Params) -> Result<Option<Recurrence>, ApiError> {
    let Change::Set(recurring) = params.hash("recurring")? else {
        return Ok(None);
    };
    recurring.check(&CREATE_RECURRING)?;
    usage_type(&recurring)?;
    let interval = interval(&recurring)?
        .ok_or_else(|| ApiError::missing_parameter(&recurring.name("interval")))?;
    let count = recurring.integer("interval_count")?.unwrap_or(1);
    if !(1..=interval.max_count()).contains(&count) {
        return Err(ApiError::invalid(
            recurring.name("interval_count"),
            "The billing interval may be at most three years.",
        ));
    }
    if recurring.integer("trial_period_days")?.is_some() {
        return Err(ApiError::not_implemented(
            &recurring.name("trial_period_days"),
        ));
    }
    Ok(Some(Recurrence { interval, count }))
}

/// The price's product: an existing one, or one made from `product_data`.
fn product_for(
    store: &Store,
    params: &Params,
    now: i64,
) -> Result<(String, Option<Value>), ApiError> {
    match (params.string("product")?, params.hash("product_data")?) {
        (Some(_), Change::Set(_)) => Err(ApiError::invalid(
            "product",
            "You may only specify one of these parameters: product, product_data.",
        )),
        (Some(id), _) => {
            store
                .products
                .get(id)
                .ok_or_else(|| ApiError::no_such_param("product", id, "product"))?;
            Ok((id.to_owned(), None))
        }
        (None, Change::Set(data)) => {
            data.check(&PRODUCT_DATA)?;
            let id = data
                .string("id")?
                .map_or_else(|| ids::generate("prod", ids::SHORT), str::to_owned);
            if store.products.get(&id).is_some() {
                return Err(ApiError::invalid_with_code(
                    data.name("id"),
                    "resource_already_exists",
                    "Product already exists.",
                ));
            }
            let mut product = catalogue::product_json(&NewProduct {
                id: id.clone(),
                name: data.required_string("name")?,
                created: now,
            });
            products::apply(&mut product, &data)?;
            Ok((id, Some(product)))
        }
        (None, _) => Err(ApiError::missing_parameter("product")),
    }
}

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&CREATE)?;
    let currency = params.required_string("currency")?.to_lowercase();
    let unit_amount = params
        .integer("unit_amount")?
        .ok_or_else(|| ApiError::missing_parameter("unit_amount"))?;
    if unit_amount < 0 {
        return Err(ApiError::invalid(
            "unit_amount",
            "This value must be greater than or equal to 0.",
        ));
    }
    match params.string("billing_scheme")? {
        None | Some("per_unit") => {}
        Some(_) => return Err(ApiError::not_implemented("billing_scheme=tiered")),
    }
    let tax_behavior = params.string("tax_behavior")?;
    if let Some(bad) =
        tax_behavior.filter(|t| !["exclusive", "inclusive", "unspecified"].contains(t))
    {
        return Err(ApiError::invalid(
            "tax_behavior",
            format!(
                "Invalid tax_behavior: must be one of exclusive, inclusive, or unspecified (got \
                 {bad})"
            ),
        ));
    }
    let recurring = recurrence(params)?;
    let lookup_key = params.string("lookup_key")?.filter(|k| !k.is_empty());
    let transfer = params.boolean("transfer_lookup_key")?.unwrap_or(false);
    let now = app.clock.now();
    app.write(&request, |store, changes| {
        let (product_id, new_product) = product_for(store, params, now)?;
        let holder = lookup_key.and_then(|key| {
            store
                .prices
                .oldest_first()
                .find(|p| p["lookup_key"] == key)
                .map(|p| p["id"].as_str().unwrap_or_default().to_owned())
        });
        if let Some(holder) = &holder
            && !transfer
        {
            return Err(ApiError::invalid(
                "lookup_key",
                format!("A price (`{holder}`) already uses that lookup key."),
            ));
        }
        let mut price = catalogue::price_json(&NewPrice {
            id: ids::generate("price", ids::LONG),
            product: &product_id,
            currency: &currency,
            unit_amount,
            recurring,
            lookup_key,
            created: now,
        });
        if let Some(active) = params.boolean("active")? {
            price["active"] = json!(active);
        }
        if let Some(nickname) = params.string("nickname")?.filter(|n| !n.is_empty()) {
            price["nickname"] = json!(nickname);
        }
        if let Some(tax_behavior) = tax_behavior {
            price["tax_behavior"] = json!(tax_behavior);
        }
        if let Some(update) = params.metadata()? {
            update.apply(&mut price["metadata"])?;
        }
        if let Some(holder) = holder.and_then(|id| store.prices.get_mut(&id)) {
            holder["lookup_key"] = Value::Null;
        }
        if let Some(product) = new_product {
            changes.created("product.created", &product);
            store.products.insert(product);
        }
        changes.created("price.created", &price);
        store.prices.insert(price.clone());
        request.render(store, price)
    })
}
