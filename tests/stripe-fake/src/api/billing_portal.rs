//! `POST /v1/billing_portal/sessions`: a customer portal session whose `url` is the fake's own
//! portal page (`/_fake/portal/:id`). Stripe offers no retrieve or list for sessions.

use axum::extract::State;
use serde_json::{Value, json};

use super::webhook_endpoints::valid_url;
use crate::app::App;
use crate::http::params::{Change, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::model::customers;
use crate::model::error::ApiError;
use crate::model::ids;

const CREATE: Spec = Spec::new(
    &[
        "configuration",
        "customer",
        "expand",
        "flow_data",
        "locale",
        "on_behalf_of",
        "return_url",
    ],
    &["customer_account"],
);
const FLOW_DATA: Spec = Spec::new(
    &[
        "after_completion",
        "subscription_cancel",
        "subscription_update",
        "subscription_update_confirm",
        "type",
    ],
    &[],
);
const AFTER_COMPLETION: Spec = Spec::new(&["hosted_confirmation", "redirect", "type"], &[]);
const HOSTED_CONFIRMATION: Spec = Spec::new(&["custom_message"], &[]);
const REDIRECT: Spec = Spec::new(&["return_url"], &[]);

/// Flow types the fake models; the subscription flows wait for subscriptions.
const FLOW_TYPES: &[&str] = &["customer_update", "payment_method_update"];
const SUBSCRIPTION_FLOWS: &[&str] = &[
    "subscription_cancel",
    "subscription_update",
    "subscription_update_confirm",
];

/// `BillingPortalSessionLocale` in async-stripe 1.0.0-rc.10.
const LOCALES: &[&str] = &[
    "auto", "bg", "cs", "da", "de", "el", "en", "en-AU", "en-CA", "en-GB", "en-IE", "en-IN",
    "en-NZ", "en-SG", "es", "es-419", "et", "fi", "fil", "fr", "fr-CA", "hr", "hu", "id", "it",
    "ja", "ko", "lt", "lv", "ms", "mt", "nb", "nl", "pl", "pt", "pt-BR", "ro", "ru", "sk", "sl",
    "sv", "th", "tr", "vi", "zh", "zh-HK", "zh-TW",
];

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&CREATE)?;
    let customer = params.required_string("customer")?.to_owned();
    let return_url = params
        .string("return_url")?
        .filter(|u| !u.is_empty())
        .map(|u| valid_url(u, "return_url"))
        .transpose()?;
    let locale = params.string("locale")?.filter(|l| !l.is_empty());
    if let Some(bad) = locale.filter(|l| !LOCALES.contains(l)) {
        return Err(ApiError::invalid(
            "locale",
            format!("Invalid locale: {bad}"),
        ));
    }
    // The fake keeps one portal configuration; any `bpc_…` id is taken as an existing one.
    let configuration = match params.string("configuration")?.filter(|c| !c.is_empty()) {
        None if !app.behaviours().portal_default_configuration => {
            return Err(ApiError::state_refused(
                "No configuration provided and your test mode default configuration has not \
                 been created. Provide a configuration or create your default by saving your \
                 customer portal settings in test mode at \
                 https://dashboard.stripe.com/test/settings/billing/portal.",
            ));
        }
        None => app.portal_configuration.clone(),
        Some(id) if id.starts_with("bpc_") => id.to_owned(),
        Some(id) => {
            return Err(ApiError::no_such_param(
                "configuration",
                id,
                "configuration",
            ));
        }
    };
    let on_behalf_of = params.string("on_behalf_of")?.filter(|a| !a.is_empty());
    let flow = match params.hash("flow_data")? {
        Change::Keep | Change::Clear => Value::Null,
        Change::Set(flow_data) => flow(&flow_data)?,
    };
    app.write(&request, |store, changes| {
        customers::live_param(store, &customer)?;
        let id = ids::generate("bps", ids::LONG);
        let session = json!({
            "id": id,
            "object": "billing_portal.session",
            "configuration": configuration,
            "created": app.clock.now(),
            "customer": customer,
            "customer_account": null,
            "flow": flow,
            "livemode": false,
            "locale": locale,
            "on_behalf_of": on_behalf_of,
            "return_url": return_url,
            "url": format!("{}/_fake/portal/{id}", app.base_url()),
        });
        changes.event("billing_portal.session.created", &session);
        store.portal_sessions.insert(session.clone());
        request.render(store, session)
    })
}

/// The session's `flow` from `flow_data`.
fn flow(flow_data: &Params) -> Result<Value, ApiError> {
    flow_data.check(&FLOW_DATA)?;
    let flow_type = flow_data.required_string("type")?;
    if SUBSCRIPTION_FLOWS.contains(&flow_type) {
        return Err(ApiError::not_implemented(&format!(
            "{}={flow_type}",
            flow_data.name("type")
        )));
    }
    if !FLOW_TYPES.contains(&flow_type) {
        return Err(ApiError::invalid(
            flow_data.name("type"),
            format!(
                "Invalid type: must be one of customer_update, payment_method_update, \
                 subscription_cancel, subscription_update, or subscription_update_confirm \
                 (got {flow_type})"
            ),
        ));
    }
    if let Some(key) = SUBSCRIPTION_FLOWS
        .iter()
        .find(|key| flow_data.contains(key))
    {
        return Err(ApiError::not_implemented(&flow_data.name(key)));
    }
    let after_completion = match flow_data.hash("after_completion")? {
        Change::Keep | Change::Clear => {
            json!({"hosted_confirmation": null, "redirect": null, "type": "portal_homepage"})
        }
        Change::Set(after) => after_completion(&after)?,
    };
    let mut flow = json!({
        "after_completion": after_completion,
        "subscription_cancel": null,
        "subscription_update": null,
        "subscription_update_confirm": null,
        "type": flow_type,
    });
    if flow_type == "customer_update" {
        flow["customer_update"] = json!({});
    }
    Ok(flow)
}

fn after_completion(after: &Params) -> Result<Value, ApiError> {
    after.check(&AFTER_COMPLETION)?;
    let after_type = after.required_string("type")?;
    let mut out = json!({"hosted_confirmation": null, "redirect": null, "type": after_type});
    match after_type {
        "portal_homepage" => {}
        "hosted_confirmation" => {
            let message = match after.hash("hosted_confirmation")? {
                Change::Set(hosted) => {
                    hosted.check(&HOSTED_CONFIRMATION)?;
                    hosted
                        .string("custom_message")?
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned)
                }
                Change::Keep | Change::Clear => None,
            };
            out["hosted_confirmation"] = json!({ "custom_message": message });
        }
        "redirect" => {
            let Change::Set(redirect) = after.hash("redirect")? else {
                return Err(ApiError::missing_parameter(&after.name("redirect")));
            };
            redirect.check(&REDIRECT)?;
            let url = redirect.required_string("return_url")?;
            out["redirect"] =
                json!({ "return_url": valid_url(url, &redirect.name("return_url"))? });
        }
        other => {
            return Err(ApiError::invalid(
                after.name("type"),
                format!(
                    "Invalid type: must be one of hosted_confirmation, portal_homepage, or \
                     redirect (got {other})"
                ),
            ));
        }
    }
    Ok(out)
}
