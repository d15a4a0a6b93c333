//! `/v1/webhook_endpoints`: where events are delivered, and the secret that signs them.

use axum::extract::{Path, State};
use axum::response::Json;
use serde_json::{Value, json};

use crate::app::App;
use crate::http::params::{Change, NONE, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::error::ApiError;
use crate::model::ids;
use crate::model::store::{Collection, Store};

const SECRET_LEN: usize = 32;
/// "You can register up to 16 webhook endpoints on each Stripe account"
/// (docs.stripe.com/development/dashboard/webhooks).
const MAX_ENDPOINTS: usize = 16;

const CREATE: Spec = Spec::new(
    &[
        "api_version",
        "description",
        "enabled_events",
        "expand",
        "metadata",
        "url",
    ],
    &["connect"],
);
const UPDATE: Spec = Spec::new(
    &[
        "description",
        "disabled",
        "enabled_events",
        "expand",
        "metadata",
        "url",
    ],
    &[],
);

pub struct WebhookEndpoints;

impl Resource for WebhookEndpoints {
    const NAME: &'static str = "webhook endpoint";

    fn collection(store: &Store) -> &Collection {
        &store.webhook_endpoints
    }
}

impl Listed for WebhookEndpoints {
    const URL: &'static str = "/v1/webhook_endpoints";
    const LIST: Spec = Spec::list(&[], &[]);

    fn filter(_: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        Ok(|_: &Value| true)
    }
}

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&CREATE)?;
    let url = valid_url(params.required_string("url")?, "url")?;
    let Change::Set(enabled_events) = enabled_events(params)? else {
        return Err(ApiError::missing_parameter("enabled_events"));
    };
    let api_version = params.string("api_version")?.filter(|v| !v.is_empty());
    if let Some(version) = api_version.filter(|v| !looks_like_api_version(v)) {
        return Err(ApiError::invalid(
            "api_version",
            format!("Invalid API version: {version}"),
        ));
    }
    let mut endpoint = json!({
        "id": ids::generate("we", ids::LONG),
        "object": "webhook_endpoint",
        "api_version": api_version,
        "application": null,
        "created": app.clock.now(),
        "description": params.string("description")?.filter(|d| !d.is_empty()),
        "enabled_events": enabled_events,
        "livemode": false,
        "metadata": {},
        "status": "enabled",
        "url": url,
    });
    if let Some(update) = params.metadata()? {
        update.apply(&mut endpoint["metadata"])?;
    }
    let secret = ids::generate("whsec", SECRET_LEN);
    app.write(&request, |store, _| {
        if store.webhook_endpoints.oldest_first().count() >= MAX_ENDPOINTS {
            return Err(ApiError::state_refused(format!(
                "You have reached the maximum of {MAX_ENDPOINTS} webhook endpoints on this \
                 account."
            )));
        }
        let id = endpoint["id"].as_str().unwrap_or_default().to_owned();
        store.webhook_secrets.insert(id, secret.clone());
        store.webhook_endpoints.insert(endpoint.clone());
        // Only the create response shows the secret.
        endpoint["secret"] = json!(secret);
        request.render(store, endpoint)
    })
}

pub async fn update(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&UPDATE)?;
    app.write(&request, |store, _| {
        let mut endpoint = WebhookEndpoints::get(store, &id)?;
        if let Some(url) = params.string("url")? {
            endpoint["url"] = json!(valid_url(url, "url")?);
        }
        match params.text("description")? {
            Change::Keep => {}
            Change::Clear => endpoint["description"] = Value::Null,
            Change::Set(description) => endpoint["description"] = json!(description),
        }
        if let Change::Set(events) = enabled_events(params)? {
            endpoint["enabled_events"] = json!(events);
        }
        if let Some(disabled) = params.boolean("disabled")? {
            endpoint["status"] = json!(if disabled { "disabled" } else { "enabled" });
        }
        if let Some(update) = params.metadata()? {
            update.apply(&mut endpoint["metadata"])?;
        }
        store.webhook_endpoints.insert(endpoint.clone());
        request.render(store, endpoint)
    })
}

pub async fn delete(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&NONE)?;
    app.write(&request, |store, _| {
        store
            .webhook_endpoints
            .remove(&id)
            .ok_or_else(|| ApiError::no_such(WebhookEndpoints::NAME, &id))?;
        store.webhook_secrets.remove(&id);
        Ok(Json(
            json!({ "id": id, "object": "webhook_endpoint", "deleted": true }),
        ))
    })
}

/// Event names or `*`. Stripe checks names against its catalogue; the fake checks their shape.
fn enabled_events(params: &Params) -> Result<Change<Vec<String>>, ApiError> {
    let events = params.string_list("enabled_events")?;
    if let Change::Set(events) = &events {
        if events.is_empty() {
            return Err(ApiError::missing_parameter("enabled_events"));
        }
        let shaped = |e: &str| {
            e == "*"
                || (e.contains('.')
                    && e.split('.').all(|part| {
                        !part.is_empty() && part.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }))
        };
        if let Some((i, bad)) = events.iter().enumerate().find(|(_, e)| !shaped(e)) {
            return Err(ApiError::invalid(
                format!("enabled_events[{i}]"),
                format!("Invalid event type: {bad}"),
            ));
        }
    }
    Ok(events)
}

/// An `http(s)://host…` URL (shared by the routes that take URLs).
pub fn valid_url(url: &str, param: &str) -> Result<String, ApiError> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    if rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/')) {
        Ok(url.to_owned())
    } else {
        Err(ApiError::invalid(param, format!("Invalid URL: {url}")))
    }
}

/// `2026-09-30` or `2026-09-30.endive`.
fn looks_like_api_version(version: &str) -> bool {
    let date = version.split_once('.').map_or(version, |(date, _)| date);
    date.len() == 10
        && date.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        })
}
