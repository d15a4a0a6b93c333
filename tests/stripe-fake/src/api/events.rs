//! `/v1/events`: retrieve and list the events the fake has recorded.

use axum::extract::{Path, State};

use crate::app::App;
use crate::error::ApiError;
use crate::list;
use crate::params::{Change, EXPAND_ONLY, Spec};
use crate::pipeline::{ApiRequest, ApiResult};

const RESOURCE: &str = "event";
const URL: &str = "/v1/events";
const MAX_TYPES: usize = 20;

const LIST: Spec = Spec::new(
    &[
        "created",
        "ending_before",
        "expand",
        "limit",
        "starting_after",
        "type",
        "types",
    ],
    &["delivery_success"],
);

pub async fn retrieve(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&EXPAND_ONLY)?;
    app.read(|store| {
        let event = store
            .events
            .get(&id)
            .ok_or_else(|| ApiError::no_such(RESOURCE, &id))?;
        request.render(store, event.clone())
    })
}

pub async fn list(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&LIST)?;
    let patterns: Vec<String> = match (params.string("type")?, params.string_list("types")?) {
        (Some(_), Change::Set(_)) => {
            return Err(ApiError::invalid(
                "types",
                "You may only specify one of these parameters: type, types.",
            ));
        }
        (Some(one), _) => vec![one.to_owned()],
        (None, Change::Set(many)) if many.len() > MAX_TYPES => {
            return Err(ApiError::invalid(
                "types",
                format!("You can specify at most {MAX_TYPES} types."),
            ));
        }
        (None, Change::Set(many)) => many,
        (None, Change::Keep | Change::Clear) => Vec::new(),
    };
    app.read(|store| {
        let include = |event: &serde_json::Value| {
            let event_type = event["type"].as_str().unwrap_or_default();
            patterns.is_empty() || patterns.iter().any(|p| type_matches(p, event_type))
        };
        let page = list::page(params, store.events.newest_first(), include, URL, RESOURCE)?;
        request.render(store, page)
    })
}

/// `customer.created`, or a group with a trailing wildcard: `customer.*`.
fn type_matches(pattern: &str, event_type: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => event_type.starts_with(prefix),
        None => pattern == event_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(type_matches("customer.*", "customer.updated"));
        assert!(type_matches("*", "customer.updated"));
        assert!(type_matches("customer.updated", "customer.updated"));
        assert!(!type_matches("customer.created", "customer.updated"));
        assert!(!type_matches("invoice.*", "customer.updated"));
    }
}
