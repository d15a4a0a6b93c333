//! `/v1/setup_intents`: create, retrieve, confirm and cancel. The intent's state machine (what
//! the test card does on confirm, the 3D Secure wait) is `crate::model::setup_intents`; a 3D
//! Secure challenge is completed with `POST /_fake/setup_intents/:id/authenticate`. Stripe.js's
//! path (publishable key plus the client secret) is accepted on retrieve and confirm.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::intents::{self, Intent};
use crate::app::App;
use crate::http::params::{Change, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::customers;
use crate::model::error::ApiError;
use crate::model::ids;
use crate::model::intents::{Kind, SETUP_INTENT};
use crate::model::payment_methods;
use crate::model::setup_intents::{self, OFFERED_TYPES, blank};
use crate::model::store::{Collection, Store};

/// `GET /v1/setup_intents` (a secret key only): newest first, filtered by `customer` /
/// `payment_method` (the API reference's list parameters).
pub struct SetupIntents;

impl Resource for SetupIntents {
    const NAME: &'static str = "setupintent";

    fn collection(store: &Store) -> &Collection {
        &store.setup_intents
    }
}

impl Listed for SetupIntents {
    const URL: &'static str = "/v1/setup_intents";
    const LIST: Spec = Spec::list(
        &["created", "customer", "payment_method"],
        &["attach_to_self", "customer_account"],
    );

    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        let customer = params.string("customer")?.filter(|c| !c.is_empty());
        let payment_method = params.string("payment_method")?.filter(|p| !p.is_empty());
        Ok(move |intent: &Value| {
            customer.is_none_or(|c| intent["customer"] == c)
                && payment_method.is_none_or(|p| intent["payment_method"] == p)
        })
    }
}

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
const CONFIRM: Spec = Spec::new(
    intents::CONFIRM_PARAMS,
    &[
        "allowed_payment_method_types",
        "confirmation_token",
        "mandate_data",
        "payment_method_data",
        "payment_method_options",
    ],
);
const CANCEL: Spec = Spec::new(&["cancellation_reason", "expand"], &[]);

impl Intent for SetupIntents {
    const KIND: &'static Kind = &SETUP_INTENT;
    const PUBLISHABLE_FIELDS: &'static [&'static str] = &[
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
}

const RETURN_URL_NEEDED: &str = "This SetupIntent is configured to accept payment methods enabled \
    in your Dashboard. Because some of these payment methods might redirect your customer off of \
    your page, you must provide a `return_url`. If you don't want to accept redirect-based payment \
    methods, set `automatic_payment_methods[enabled]` to `true` and \
    `automatic_payment_methods[allow_redirects]` to `never` when creating Setup Intents and \
    Payment Intents.";

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
        return Err(SETUP_INTENT.missing_payment_method());
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
            customers::live_param(store, customer)?;
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
            setup_intents::confirm(
                store,
                changes,
                intent,
                None,
                app.clock.now(),
                &app.base_url(),
            )?
        } else {
            store.setup_intents.insert(intent.clone());
            Ok(intent)
        };
        Ok(outcome.and_then(|intent| intents::respond::<SetupIntents>(&request, store, intent)))
    })?
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
        let intent = intents::to_confirm::<SetupIntents>(&request, params, store, &id)?;
        check_return_url(&app, &intent, return_url)?;
        let outcome = setup_intents::confirm(
            store,
            changes,
            intent,
            payment_method,
            app.clock.now(),
            &app.base_url(),
        )?;
        Ok(outcome.and_then(|intent| intents::respond::<SetupIntents>(&request, store, intent)))
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
        let intent = setup_intents::cancel(store, changes, &id, reason)?;
        request.render(store, intent)
    })
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
