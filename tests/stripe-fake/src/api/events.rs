//! `/v1/events`: retrieve and list the events the fake has recorded.

use serde_json::Value;

use crate::http::params::{Change, Params, Spec};
use crate::http::resource::{Listed, Resource};
use crate::model::error::ApiError;
use crate::model::store::{Collection, Store};

const MAX_TYPES: usize = 20;

pub struct Events;

impl Resource for Events {
    const NAME: &'static str = "event";

    fn collection(store: &Store) -> &Collection {
        &store.events
    }
}

impl Listed for Events {
    const URL: &'static str = "/v1/events";
    const LIST: Spec = Spec::list(&["created", "type", "types"], &["delivery_success"]);

    /// `type` (one pattern) or `types[]` (up to 20), not both.
    fn filter(params: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
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
        Ok(move |event: &Value| {
            let event_type = event["type"].as_str().unwrap_or_default();
            patterns.is_empty() || patterns.iter().any(|p| type_matches(p, event_type))
        })
    }
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
