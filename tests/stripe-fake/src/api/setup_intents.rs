//! `/v1/setup_intents`: create, retrieve, confirm and cancel. Confirming resolves the payment
//! method (test tokens make a new one), then follows the test card: success attaches it to the
//! intent's customer, a declining card fails with 402, a 3D Secure card waits in `requires_action`
//! until `POST /_fake/setup_intents/:id/authenticate`. Stripe.js's path (publishable key plus the
//! client secret) is accepted on retrieve and confirm.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use crate::api::{customers, payment_methods};
use crate::app::App;
use crate::cards::Setup;
use crate::error::ApiError;
use crate::events::Changes;
use crate::ids;
use crate::params::{Change, Params, Spec};
use crate::pipeline::{ApiRequest, ApiResult};
use crate::store::Store;

/// Stripe's own spelling in `No such setupintent: 'seti_…'`.
const RESOURCE: &str = "setupintent";
const UNEXPECTED_STATE: &str = "setup_intent_unexpected_state";
const SECRET_LEN: usize = 25;

const CREATE: Spec = Spec::new(
    &[
        "allowed_payment_method_types",
        "automatic_payment_methods",
        "confirm",
        "customer",
        "description",
        "expand",
        "metadata",
        "payment_method",
        "return_url",
        "usage",
        "use_stripe_sdk",
    ],
    &[
        "attach_to_self",
        "confirmation_token",
        "customer_account",
        "excluded_payment_method_types",
        "flow_directions",
        "mandate_data",
        "on_behalf_of",
        "payment_method_configuration",
        "payment_method_data",
        "payment_method_options",
        "single_use",
    ],
);
const AUTOMATIC: Spec = Spec::new(&["allow_redirects", "enabled"], &[]);
const RETRIEVE: Spec = Spec::new(&["client_secret", "expand"], &[]);
/// `client_secret` is what Stripe.js sends with a publishable key.
const CONFIRM: Spec = Spec::new(
    &[
        "client_secret",
        "expand",
        "payment_method",
        "return_url",
        "use_stripe_sdk",
    ],
    &[
        "allowed_payment_method_types",
        "confirmation_token",
        "mandate_data",
        "payment_method_data",
        "payment_method_options",
    ],
);
const CANCEL: Spec = Spec::new(&["cancellation_reason", "expand"], &[]);

/// The fields a publishable key sees (Stripe.js's `SetupIntent` type).
const PUBLISHABLE_FIELDS: &[&str] = &[
    "id",
    "object",
    "cancellation_reason",
    "client_secret",
    "created",
    "description",
    "last_setup_error",
    "livemode",
    "next_action",
    "payment_method",
    "payment_method_types",
    "status",
    "usage",
];

const RETURN_URL_NEEDED: &str = "This SetupIntent is configured to accept payment methods enabled \
    in your Dashboard. Because some of these payment methods might redirect your customer off of \
    your page, you must provide a `return_url`. If you don't want to accept redirect-based payment \
    methods, set `automatic_payment_methods[enabled]` to `true` and \
    `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and \
    Payment Intents.";

/// The only payment method type the fake's account offers.
const OFFERED_TYPES: &[&str] = &["card"];

/// A new SetupIntent (key set of the published fixture plus endive's
/// `allowed_payment_method_types`), using automatic payment methods like Stripe since 2023-08-16.
fn blank(id: &str, created: i64, payment_method_configuration: &str) -> Value {
    json!({
        "id": id,
        "object": "setup_intent",
        "allowed_payment_method_types": null,
        "application": null,
        "automatic_payment_methods": { "enabled": true },
        "cancellation_reason": null,
        "client_secret": format!("{id}_secret_{}", ids::alphanumeric(SECRET_LEN)),
        "created": created,
        "customer": null,
        "description": null,
        "excluded_payment_method_types": null,
        "flow_directions": null,
        "last_setup_error": null,
        "latest_attempt": null,
        "livemode": false,
        "mandate": null,
        "metadata": {},
        "next_action": null,
        "on_behalf_of": null,
        "payment_method": null,
        "payment_method_configuration_details": { "id": payment_method_configuration, "parent": null },
        "payment_method_options": {
            "card": { "mandate_options": null, "network": null, "request_three_d_secure": "automatic" }
        },
        "payment_method_types": OFFERED_TYPES,
        "single_use_mandate": null,
        "status": "requires_payment_method",
        "usage": "off_session"
    })
}

fn stored(store: &Store, id: &str) -> Result<Value, ApiError> {
    store
        .setup_intents
        .get(id)
        .cloned()
        .ok_or_else(|| ApiError::no_such(RESOURCE, id))
}

fn non_empty<'a>(params: &'a Params, key: &str) -> Result<Option<&'a str>, ApiError> {
    Ok(params.string(key)?.filter(|s| !s.is_empty()))
}

/// `payment_method_types` became read-only in endive (changelog 2026-09-30, "Removes the payment
/// method types parameter from Payment Intents and Setup Intents").
fn payment_method_types_removed() -> ApiError {
    ApiError::invalid_with_code(
        "payment_method_types",
        "payment_method_types_no_longer_supported",
        "The `payment_method_types` parameter is not supported on API version 2026-09-30.endive \
         and later. Use `automatic_payment_methods`, `allowed_payment_method_types` or \
         `excluded_payment_method_types` instead.",
    )
}

/// Which payment methods the intent offers, from `automatic_payment_methods` or
/// `allowed_payment_method_types` (mutually exclusive).
fn apply_payment_method_settings(
    intent: &mut Value,
    params: &Params,
    configuration: &str,
) -> Result<(), ApiError> {
    let allowed = params.string_list("allowed_payment_method_types")?;
    let automatic = params.hash("automatic_payment_methods")?;
    if let (Change::Set(_), Change::Set(_)) = (&allowed, &automatic) {
        return Err(ApiError::invalid(
            "allowed_payment_method_types",
            "You may only specify one of these parameters: allowed_payment_method_types, \
             automatic_payment_methods.",
        ));
    }
    if let Change::Set(types) = allowed {
        if let Some(bad) = types
            .iter()
            .find(|t| t.is_empty() || !t.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        {
            return Err(ApiError::invalid(
                "allowed_payment_method_types",
                format!("Invalid payment method type: {bad}"),
            ));
        }
        // Stripe silently drops the types the account cannot offer.
        let offered: Vec<&str> = OFFERED_TYPES
            .iter()
            .copied()
            .filter(|t| types.iter().any(|given| given == t))
            .collect();
        if offered.is_empty() {
            return Err(ApiError::invalid(
                "allowed_payment_method_types",
                "None of the allowed_payment_method_types can be used with this SetupIntent \
                 (stripe-fake offers only card).",
            ));
        }
        intent["allowed_payment_method_types"] = json!(types);
        intent["payment_method_types"] = json!(offered);
        intent["automatic_payment_methods"] = Value::Null;
        intent["payment_method_configuration_details"] = Value::Null;
    }
    if let Change::Set(automatic) = automatic {
        automatic.check(&AUTOMATIC)?;
        let enabled = automatic
            .boolean("enabled")?
            .ok_or_else(|| ApiError::missing_parameter(&automatic.name("enabled")))?;
        let allow_redirects = automatic.string("allow_redirects")?;
        if let Some(bad) = allow_redirects.filter(|a| !["always", "never"].contains(a)) {
            return Err(ApiError::invalid(
                automatic.name("allow_redirects"),
                format!("Invalid allow_redirects: must be one of always or never (got {bad})"),
            ));
        }
        if enabled {
            let mut settings = json!({ "enabled": true });
            if let Some(allow) = allow_redirects {
                settings["allow_redirects"] = json!(allow);
            }
            intent["automatic_payment_methods"] = settings;
            intent["payment_method_configuration_details"] =
                json!({ "id": configuration, "parent": null });
        } else {
            intent["automatic_payment_methods"] = Value::Null;
            intent["payment_method_configuration_details"] = Value::Null;
        }
    }
    Ok(())
}

/// A publishable key must bring the intent's client secret; a secret key may, and then it must
/// match too.
fn check_client_secret(
    request: &ApiRequest,
    params: &Params,
    intent: &Value,
) -> Result<(), ApiError> {
    match params.string("client_secret")? {
        None if request.publishable() => Err(ApiError::missing_parameter("client_secret")),
        None => Ok(()),
        Some(secret) if intent["client_secret"] == secret => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "client_secret",
            "The client_secret provided does not match the client_secret associated with the \
             SetupIntent.",
        )),
    }
}

/// The response: what a publishable key may see, or the whole intent; `expand[]` applied.
fn respond(request: &ApiRequest, store: &Store, intent: Value) -> ApiResult {
    let intent = if request.publishable() {
        let Value::Object(all) = intent else {
            return request.render(store, intent);
        };
        let visible: Map<String, Value> = all
            .into_iter()
            .filter(|(key, _)| PUBLISHABLE_FIELDS.contains(&key.as_str()))
            .collect();
        Value::Object(visible)
    } else {
        intent
    };
    request.render(store, intent)
}

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    if request.has_param("payment_method_types") {
        return Err(payment_method_types_removed());
    }
    let params = request.params(&CREATE)?;
    let confirm = params.boolean("confirm")?.unwrap_or(false);
    params.boolean("use_stripe_sdk")?;
    let return_url = non_empty(params, "return_url")?;
    if return_url.is_some() && !confirm {
        return Err(ApiError::invalid(
            "return_url",
            "You can only pass `return_url` when `confirm` is true.",
        ));
    }
    let usage = match params.string("usage")? {
        None | Some("") => "off_session",
        Some(usage @ ("off_session" | "on_session")) => usage,
        Some(other) => {
            return Err(ApiError::invalid(
                "usage",
                format!("Invalid usage: must be one of off_session or on_session (got {other})"),
            ));
        }
    };
    let customer = non_empty(params, "customer")?;
    let payment_method = non_empty(params, "payment_method")?;
    if confirm && payment_method.is_none() {
        return Err(missing_payment_method());
    }
    let mut intent = blank(
        &ids::generate("seti", ids::LONG),
        app.clock.now(),
        &app.payment_method_configuration,
    );
    intent["usage"] = json!(usage);
    apply_payment_method_settings(&mut intent, params, &app.payment_method_configuration)?;
    if let Some(description) = non_empty(params, "description")? {
        intent["description"] = json!(description);
    }
    if let Some(update) = params.metadata()? {
        update.apply(&mut intent["metadata"])?;
    }
    if confirm {
        check_return_url(&app, &intent, return_url)?;
    }
    app.write(&request, |store, changes| {
        if let Some(customer) = customer {
            customers::live(store, customer)
                .map_err(|_| ApiError::no_such_param("customer", customer, "customer"))?;
            intent["customer"] = json!(customer);
        }
        if let Some(pm) = payment_method {
            let id = payment_methods::resolve(store, pm, "payment_method", app.clock.now())?;
            payment_methods::check_usable(store, &id, customer)?;
            intent["payment_method"] = json!(id);
            intent["status"] = json!("requires_confirmation");
        }
        changes.event("setup_intent.created", &intent);
        let outcome = if confirm {
            confirm_intent(&app, store, changes, intent, None)?
        } else {
            store.setup_intents.insert(intent.clone());
            Ok(intent)
        };
        Ok(outcome.and_then(|intent| respond(&request, store, intent)))
    })?
}

pub async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&RETRIEVE)?;
    app.read(|store| {
        let intent = stored(store, &id)?;
        check_client_secret(&request, params, &intent)?;
        respond(&request, store, intent)
    })
}

pub async fn confirm(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&CONFIRM)?;
    params.boolean("use_stripe_sdk")?;
    let payment_method = non_empty(params, "payment_method")?;
    let return_url = non_empty(params, "return_url")?;
    app.write(&request, |store, changes| {
        let intent = stored(store, &id)?;
        check_client_secret(&request, params, &intent)?;
        check_confirmable(&intent)?;
        check_return_url(&app, &intent, return_url)?;
        let outcome = confirm_intent(&app, store, changes, intent, payment_method)?;
        Ok(outcome.and_then(|intent| respond(&request, store, intent)))
    })?
}

pub async fn cancel(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&CANCEL)?;
    let reason = match params.string("cancellation_reason")? {
        None | Some("") => None,
        Some(reason @ ("abandoned" | "duplicate" | "requested_by_customer")) => Some(reason),
        Some(other) => {
            return Err(ApiError::invalid(
                "cancellation_reason",
                format!(
                    "Invalid cancellation_reason: must be one of abandoned, duplicate, or \
                     requested_by_customer (got {other})"
                ),
            ));
        }
    };
    app.write(&request, |store, changes| {
        let mut intent = stored(store, &id)?;
        let status = intent["status"].as_str().unwrap_or_default().to_owned();
        if !PENDING.contains(&status.as_str()) {
            return Err(ApiError::unexpected_state(
                UNEXPECTED_STATE,
                format!(
                    "You cannot cancel this SetupIntent because it has a status of {status}. \
                     Only a SetupIntent with one of the following statuses may be canceled: \
                     requires_payment_method, requires_confirmation, requires_action."
                ),
            ));
        }
        intent["status"] = json!("canceled");
        intent["cancellation_reason"] = json!(reason);
        intent["next_action"] = Value::Null;
        changes.event("setup_intent.canceled", &intent);
        store.setup_intents.insert(intent.clone());
        request.render(store, intent)
    })
}

/// Statuses from which an intent can still be confirmed or canceled.
const PENDING: &[&str] = &[
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
];

fn check_confirmable(intent: &Value) -> Result<(), ApiError> {
    let status = intent["status"].as_str().unwrap_or_default();
    if PENDING.contains(&status) {
        return Ok(());
    }
    let message = if status == "succeeded" {
        "You cannot confirm this SetupIntent because it has already succeeded after being \
         previously confirmed."
            .to_owned()
    } else {
        format!(
            "You cannot confirm this SetupIntent because it has a status of {status}. Only a \
             SetupIntent with one of the following statuses may be confirmed: \
             requires_payment_method, requires_confirmation, requires_action."
        )
    };
    Err(ApiError::unexpected_state(UNEXPECTED_STATE, message).object("setup_intent", intent))
}

fn missing_payment_method() -> ApiError {
    ApiError::unexpected_state(
        UNEXPECTED_STATE,
        "You cannot confirm this SetupIntent because it's missing a payment method. You can \
         either update the SetupIntent with a payment method and then confirm it again, or \
         confirm it again directly with a payment method.",
    )
    .param("payment_method")
}

/// A server-side confirm of an intent that may offer redirect-based payment methods needs a
/// `return_url` (behaviour switch `confirm_requires_return_url`). Stripe.js always sends one.
fn check_return_url(app: &App, intent: &Value, return_url: Option<&str>) -> Result<(), ApiError> {
    let automatic = &intent["automatic_payment_methods"];
    let may_redirect = automatic["enabled"] == true && automatic["allow_redirects"] != "never";
    if return_url.is_none() && may_redirect && app.behaviours().confirm_requires_return_url {
        return Err(
            ApiError::refused("return_url", RETURN_URL_NEEDED).object("setup_intent", intent)
        );
    }
    Ok(())
}

/// Confirms `intent` (already checked to be confirmable) with `payment_method` or the one it
/// holds, stores it and records its events. A declined card is `Ok(Err(402))`: the intent changed
/// and its events stand, but the client gets Stripe's card error.
fn confirm_intent(
    app: &App,
    store: &mut Store,
    changes: &mut Changes,
    mut intent: Value,
    payment_method: Option<&str>,
) -> Result<Result<Value, ApiError>, ApiError> {
    let customer = intent["customer"].as_str().map(str::to_owned);
    let pm = match payment_method {
        Some(pm) => payment_methods::resolve(store, pm, "payment_method", app.clock.now())?,
        None => intent["payment_method"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(missing_payment_method)?,
    };
    payment_methods::check_usable(store, &pm, customer.as_deref())?;
    let Some(state) = store.cards.get(&pm).copied() else {
        return Err(ApiError::no_such_param(
            "PaymentMethod",
            &pm,
            "payment_method",
        ));
    };
    intent["last_setup_error"] = Value::Null;
    intent["next_action"] = Value::Null;
    match &state.card.setup {
        Setup::Succeeds => {
            if let Some(customer) = &customer {
                payment_methods::attach(store, changes, &pm, customer)?;
            }
            payment_methods::mark_set_up(store, &pm);
            intent["payment_method"] = json!(pm);
            intent["status"] = json!("succeeded");
            changes.event("setup_intent.succeeded", &intent);
        }
        Setup::RequiresAction => {
            let id = intent["id"].as_str().unwrap_or_default().to_owned();
            intent["payment_method"] = json!(pm);
            intent["status"] = json!("requires_action");
            intent["next_action"] = json!({
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {
                    "type": "three_d_secure_redirect",
                    "stripe_js": format!("{}/_fake/setup_intents/{id}/authenticate", app.base_url()),
                    "source": pm,
                }
            });
            changes.event("setup_intent.requires_action", &intent);
        }
        Setup::Declines(decline) => {
            let method = store.payment_methods.get(&pm).cloned().unwrap_or_default();
            // `last_setup_error` is the error Stripe answers with, plus the payment method.
            let mut error = ApiError::card_declined(decline).body()["error"].take();
            error["payment_method"] = method.clone();
            error["payment_method_type"] = json!("card");
            intent["last_setup_error"] = error;
            intent["payment_method"] = Value::Null;
            intent["status"] = json!("requires_payment_method");
            changes.event("setup_intent.setup_failed", &intent);
            store.setup_intents.insert(intent.clone());
            return Ok(Err(ApiError::card_declined(decline)
                .object("setup_intent", &intent)
                .object("payment_method", &method)));
        }
    }
    store.setup_intents.insert(intent.clone());
    Ok(Ok(intent))
}

/// Why `POST /_fake/setup_intents/:id/authenticate` could not act.
pub enum AuthenticateError {
    NotFound,
    Conflict(String),
}

/// Stands in for the customer passing (or failing) the 3D Secure challenge of an intent in
/// `requires_action`: success attaches the payment method to the intent's customer.
pub fn authenticate(
    store: &mut Store,
    changes: &mut Changes,
    id: &str,
    fail: bool,
) -> Result<Value, AuthenticateError> {
    let mut intent = store
        .setup_intents
        .get(id)
        .cloned()
        .ok_or(AuthenticateError::NotFound)?;
    if intent["status"] != "requires_action" {
        return Err(AuthenticateError::Conflict(format!(
            "setup intent {id} is {}, not requires_action",
            intent["status"]
        )));
    }
    let pm = intent["payment_method"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    intent["next_action"] = Value::Null;
    if fail {
        let method = store.payment_methods.get(&pm).cloned().unwrap_or_default();
        intent["last_setup_error"] = json!({
            "code": "setup_intent_authentication_failure",
            "doc_url": "https://stripe.com/docs/error-codes/setup-intent-authentication-failure",
            "message": "We are unable to authenticate your payment method. Please choose a \
                        different payment method and try again.",
            "payment_method": method,
            "payment_method_type": "card",
            "type": "invalid_request_error",
        });
        intent["payment_method"] = Value::Null;
        intent["status"] = json!("requires_payment_method");
        changes.event("setup_intent.setup_failed", &intent);
    } else {
        if let Some(customer) = intent["customer"].as_str() {
            payment_methods::attach(store, changes, &pm, customer)
                .map_err(|e| AuthenticateError::Conflict(e.message))?;
        }
        payment_methods::mark_set_up(store, &pm);
        intent["status"] = json!("succeeded");
        changes.event("setup_intent.succeeded", &intent);
    }
    store.setup_intents.insert(intent.clone());
    Ok(intent)
}

impl AuthenticateError {
    /// The control API's answer status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
        }
    }

    pub fn message(&self, id: &str) -> String {
        match self {
            Self::NotFound => format!("no setup intent {id}"),
            Self::Conflict(message) => message.clone(),
        }
    }
}
