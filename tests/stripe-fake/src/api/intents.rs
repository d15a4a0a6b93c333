//! What the SetupIntent and PaymentIntent routes share for Stripe.js's path (a publishable key
//! plus the intent's client secret): the secret check and the view a publishable key gets.

use serde_json::{Map, Value};

use crate::http::params::Params;
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::model::error::ApiError;
use crate::model::store::Store;

/// A publishable key must bring the intent's client secret; a secret key may, and then it must
/// match too. `kind` is Stripe's name in the message (`SetupIntent`, `PaymentIntent`).
pub fn check_client_secret(
    request: &ApiRequest,
    params: &Params,
    intent: &Value,
    kind: &str,
) -> Result<(), ApiError> {
    match params.string("client_secret")? {
        None if request.publishable() => Err(ApiError::missing_parameter("client_secret")),
        None => Ok(()),
        Some(secret) if intent["client_secret"] == secret => Ok(()),
        Some(_) => Err(ApiError::invalid(
            "client_secret",
            format!(
                "The client_secret provided does not match the client_secret associated with \
                 the {kind}."
            ),
        )),
    }
}

/// The response: the fields a publishable key may see, or the whole intent; `expand[]` applied.
pub fn respond(
    request: &ApiRequest,
    store: &Store,
    intent: Value,
    publishable_fields: &[&str],
) -> ApiResult {
    let intent = match intent {
        Value::Object(all) if request.publishable() => Value::Object(
            all.into_iter()
                .filter(|(key, _)| publishable_fields.contains(&key.as_str()))
                .collect::<Map<String, Value>>(),
        ),
        intent => intent,
    };
    request.render(store, intent)
}
