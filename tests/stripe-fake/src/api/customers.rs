//! `/v1/customers`: create, retrieve, update, delete, list and search.

use axum::extract::{Path, State};
use axum::response::Json;
use serde_json::{Value, json};

use crate::app::App;
use crate::billing::{subscriptions, test_clocks};
use crate::http::list;
use crate::http::params::{Change, NONE, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::customers::{self, RESOURCE, blank, deleted_stub, is_deleted, live, save};
use crate::model::error::ApiError;
use crate::model::ids;
use crate::model::payment_methods;
use crate::model::search::{Fields, Query};
use crate::model::store::{Collection, Store};

/// What create and update both take; they differ in what they refuse. `test_clock` is create's
/// only: update refuses it as unknown (a customer joins a clock at creation only, [S10]).
const FIELDS: &[&str] = &[
    "address",
    "balance",
    "business_name",
    "description",
    "email",
    "expand",
    "individual_name",
    "invoice_prefix",
    "invoice_settings",
    "metadata",
    "name",
    "next_invoice_sequence",
    "phone",
    "preferred_locales",
    "shipping",
    "tax_exempt",
    "test_clock",
];
const CREATE: Spec = Spec::new(
    FIELDS,
    &[
        "cash_balance",
        "payment_method",
        "source",
        "tax",
        "tax_id_data",
        "validate",
    ],
);
const UPDATE: Spec = Spec::new(
    FIELDS,
    &[
        "cash_balance",
        "default_source",
        "source",
        "tax",
        "validate",
    ],
);
const SEARCH: Spec = Spec::new(&["expand", "limit", "page", "query"], &[]);
const ADDRESS: Spec = Spec::new(
    &["city", "country", "line1", "line2", "postal_code", "state"],
    &[],
);
const SHIPPING: Spec = Spec::new(&["address", "name", "phone"], &[]);
const INVOICE_SETTINGS: Spec = Spec::new(
    &[
        "custom_fields",
        "default_payment_method",
        "footer",
        "rendering_options",
    ],
    &[],
);
const CUSTOM_FIELD: Spec = Spec::new(&["name", "value"], &[]);
const RENDERING_OPTIONS: Spec = Spec::new(&["amount_tax_display", "template"], &[]);

const SEARCH_FIELDS: Fields = Fields {
    resource: "customers",
    strings: &["email", "name", "phone"],
    numbers: &["created"],
};

pub struct Customers;

impl Resource for Customers {
    const NAME: &'static str = RESOURCE;

    fn collection(store: &Store) -> &Collection {
        &store.customers
    }

    /// Deleted customers stay stored; Stripe shows only that they were deleted.
    fn stub(customer: &Value) -> Option<Value> {
        is_deleted(customer).then(|| deleted_stub(customer["id"].as_str().unwrap_or_default()))
    }
}

impl Listed for Customers {
    const URL: &'static str = "/v1/customers";
    const LIST: Spec = Spec::list(&["created", "email", "test_clock"], &[]);

    /// Deleted customers are never listed; Stripe documents `email` as case-sensitive. Customers
    /// on a test clock appear only when `test_clock` names their clock [S10].
    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        let email = params.string("email")?;
        let clock = params.string("test_clock")?.filter(|c| !c.is_empty());
        Ok(move |c: &Value| {
            !is_deleted(c)
                && email.is_none_or(|e| c["email"] == e)
                && match clock {
                    Some(clock) => c["test_clock"] == clock,
                    None => c["test_clock"].is_null(),
                }
        })
    }
}

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&CREATE)?;
    let clock = params.string("test_clock")?.filter(|c| !c.is_empty());
    app.write(&request, |store, changes| {
        // A customer on a test clock is created at the clock's frozen time.
        let created = match clock {
            Some(clock) => test_clocks::check_joinable(store, clock)?,
            None => app.clock.now(),
        };
        let mut customer = blank(&ids::generate("cus", ids::SHORT), created);
        customer["test_clock"] = json!(clock);
        apply(&mut customer, params)?;
        check_default_payment_method(store, &Value::Null, &customer)?;
        changes.created("customer.created", &customer);
        save(store, customer.clone(), app.clock.now_ms());
        request.render(store, customer)
    })
}

pub async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&UPDATE)?;
    if params.contains("test_clock") {
        return Err(ApiError::unknown_parameter("test_clock"));
    }
    app.write(&request, |store, changes| {
        let before = live(store, &id)?.clone();
        let mut after = before.clone();
        apply(&mut after, params)?;
        check_default_payment_method(store, &before, &after)?;
        changes.updated("customer.updated", &before, &after);
        save(store, after.clone(), app.clock.now_ms());
        request.render(store, after)
    })
}

pub async fn delete(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&NONE)?;
    let ctx = app.ctx();
    app.write(&request, |store, changes| {
        let customer = live(store, &id)?.clone();
        let ctx = test_clocks::ctx_for(store, &ctx, &id);
        // Its subscriptions end first, then the customer.
        subscriptions::cancel_all_of(store, changes, &ctx, &id);
        customers::delete(store, changes, customer, app.clock.now_ms());
        Ok(Json(deleted_stub(&id)))
    })
}

pub async fn search(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&SEARCH)?;
    let query = Query::parse(params.required_string("query")?, &SEARCH_FIELDS)?;
    let now_ms = app.clock.now_ms();
    app.read(|store| {
        let hits = store
            .customer_search
            .visible(now_ms)
            .filter(|(_, c)| query.matches(c));
        let page = list::search_page(params, hits, "/v1/customers/search")?;
        request.render(store, page)
    })
}

/// Applies create/update parameters to a customer; shared so both accept the same values.
fn apply(customer: &mut Value, params: &Params) -> Result<(), ApiError> {
    for key in [
        "description",
        "name",
        "phone",
        "business_name",
        "individual_name",
    ] {
        set_text(customer, key, params.text(key)?);
    }
    let email = params.text("email")?;
    if let Change::Set(email) = &email {
        validate_email(email)?;
    }
    set_text(customer, "email", email);
    if let Some(balance) = params.integer("balance")? {
        customer["balance"] = json!(balance);
    }
    if let Some(prefix) = params.string("invoice_prefix")? {
        let valid = (3..=12).contains(&prefix.len())
            && prefix
                .chars()
                .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase());
        if !valid {
            return Err(ApiError::invalid(
                "invoice_prefix",
                "Invoice prefix must be 3 to 12 uppercase letters or numbers.",
            ));
        }
        customer["invoice_prefix"] = json!(prefix);
    }
    if let Some(sequence) = params.integer("next_invoice_sequence")? {
        if sequence < 1 {
            return Err(ApiError::invalid(
                "next_invoice_sequence",
                "Must be at least 1.",
            ));
        }
        customer["next_invoice_sequence"] = json!(sequence);
    }
    match params.string_list("preferred_locales")? {
        Change::Keep => {}
        Change::Clear => customer["preferred_locales"] = json!([]),
        Change::Set(locales) => customer["preferred_locales"] = json!(locales),
    }
    match params.text("tax_exempt")? {
        Change::Keep => {}
        Change::Clear => customer["tax_exempt"] = json!("none"),
        Change::Set(value) if ["none", "exempt", "reverse"].contains(&value.as_str()) => {
            customer["tax_exempt"] = json!(value);
        }
        Change::Set(value) => {
            return Err(ApiError::invalid(
                "tax_exempt",
                format!(
                    "Invalid tax_exempt: must be one of none, exempt, or reverse (got {value})"
                ),
            ));
        }
    }
    if let Some(update) = params.metadata()? {
        update.apply(&mut customer["metadata"])?;
    }
    match params.hash("address")? {
        Change::Keep => {}
        Change::Clear => customer["address"] = Value::Null,
        Change::Set(address) => customer["address"] = build_address(&address)?,
    }
    match params.hash("shipping")? {
        Change::Keep => {}
        Change::Clear => customer["shipping"] = Value::Null,
        Change::Set(shipping) => customer["shipping"] = build_shipping(&shipping)?,
    }
    match params.hash("invoice_settings")? {
        Change::Keep => {}
        Change::Clear => return Err(ApiError::invalid("invoice_settings", "Invalid hash")),
        Change::Set(settings) => {
            apply_invoice_settings(&mut customer["invoice_settings"], &settings)?
        }
    }
    Ok(())
}

fn set_text(customer: &mut Value, key: &str, change: Change<String>) {
    match change {
        Change::Keep => {}
        Change::Clear => customer[key] = Value::Null,
        Change::Set(text) => customer[key] = json!(text),
    }
}

/// Stripe rejects malformed addresses with `email_invalid`; this is a loose approximation.
fn validate_email(email: &str) -> Result<(), ApiError> {
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    }) && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(ApiError::invalid_with_code(
            "email",
            "email_invalid",
            format!("Invalid email address: {email}"),
        ))
    }
}

/// An address hash replaces the previous address (fields not sent become null).
fn build_address(address: &Params) -> Result<Value, ApiError> {
    address.check(&ADDRESS)?;
    let mut out = json!({});
    for key in ADDRESS.supported {
        out[*key] = address
            .string(key)?
            .filter(|s| !s.is_empty())
            .map_or(Value::Null, |s| json!(s));
    }
    Ok(out)
}

fn build_shipping(shipping: &Params) -> Result<Value, ApiError> {
    shipping.check(&SHIPPING)?;
    let name = shipping.required_string("name")?;
    let Change::Set(address) = shipping.hash("address")? else {
        return Err(ApiError::missing_parameter(&shipping.name("address")));
    };
    Ok(json!({
        "address": build_address(&address)?,
        "name": name,
        "phone": shipping.string("phone")?.filter(|s| !s.is_empty()),
    }))
}

/// Each sub-field sent replaces that sub-field; an empty string clears it.
fn apply_invoice_settings(target: &mut Value, settings: &Params) -> Result<(), ApiError> {
    settings.check(&INVOICE_SETTINGS)?;
    match settings.hash_list("custom_fields")? {
        Change::Keep => {}
        Change::Clear => target["custom_fields"] = Value::Null,
        Change::Set(fields) => {
            if fields.len() > 4 {
                return Err(ApiError::invalid(
                    settings.name("custom_fields"),
                    "At most 4 custom fields are allowed.",
                ));
            }
            let fields = fields
                .iter()
                .map(|field| {
                    field.check(&CUSTOM_FIELD)?;
                    Ok(json!({"name": field.required_string("name")?, "value": field.required_string("value")?}))
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            target["custom_fields"] = json!(fields);
        }
    }
    match settings.text("default_payment_method")? {
        Change::Keep => {}
        Change::Clear => target["default_payment_method"] = Value::Null,
        Change::Set(pm) => target["default_payment_method"] = json!(pm),
    }
    match settings.text("footer")? {
        Change::Keep => {}
        Change::Clear => target["footer"] = Value::Null,
        Change::Set(footer) => target["footer"] = json!(footer),
    }
    match settings.hash("rendering_options")? {
        Change::Keep => {}
        Change::Clear => target["rendering_options"] = Value::Null,
        Change::Set(options) => {
            options.check(&RENDERING_OPTIONS)?;
            let mut rendering = match &target["rendering_options"] {
                Value::Object(_) => target["rendering_options"].clone(),
                _ => json!({"amount_tax_display": null, "template": null}),
            };
            for key in RENDERING_OPTIONS.supported {
                match options.text(key)? {
                    Change::Keep => {}
                    Change::Clear => rendering[*key] = Value::Null,
                    Change::Set(value) => rendering[*key] = json!(value),
                }
            }
            target["rendering_options"] = rendering;
        }
    }
    Ok(())
}

const DEFAULT_PAYMENT_METHOD: &str = "invoice_settings[default_payment_method]";

/// A newly set `invoice_settings.default_payment_method` must name a payment method attached to
/// this customer.
fn check_default_payment_method(
    store: &Store,
    before: &Value,
    after: &Value,
) -> Result<(), ApiError> {
    let new = &after["invoice_settings"]["default_payment_method"];
    let Some(pm) = new.as_str() else {
        return Ok(());
    };
    if *new == before["invoice_settings"]["default_payment_method"] {
        return Ok(());
    }
    payment_methods::check_attached(store, pm, &after["id"], DEFAULT_PAYMENT_METHOD)
}
