//! What the SetupIntent and PaymentIntent routes share: retrieve, and for Stripe.js's path (a
//! publishable key plus the intent's client secret) the secret check and the view a publishable
//! key gets.

use axum::extract::{Path, State};
use serde_json::{Map, Value};

use crate::app::App;
use crate::http::params::{Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::Resource;
use crate::model::error::ApiError;
use crate::model::intents::Kind;
use crate::model::store::Store;

/// An intent type as the routes see it.
pub trait Intent: Resource {
    const KIND: &'static Kind;
    /// The fields a publishable key sees (Stripe.js's type).
    const PUBLISHABLE_FIELDS: &'static [&'static str];
}

const RETRIEVE: Spec = Spec::new(&["client_secret", "expand"], &[]);
/// What both confirms take (Stripe.js sends `client_secret` and `use_stripe_sdk` with a
/// publishable key); each adds the parameters it refuses as not implemented.
pub const CONFIRM_PARAMS: &[&str] = &[
    "client_secret",
    "expand",
    "payment_method",
    "return_url",
    "use_stripe_sdk",
];

/// A publishable key must bring the intent's client secret; a secret key may, and then it must
/// match too.
fn check_client_secret<I: Intent>(
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
            format!(
                "The client_secret provided does not match the client_secret associated with \
                 the {}.",
                I::KIND.name
            ),
        )),
    }
}

/// The response: the fields a publishable key may see, or the whole intent; `expand[]` applied.
pub fn respond<I: Intent>(request: &ApiRequest, store: &Store, intent: Value) -> ApiResult {
    let intent = match intent {
        Value::Object(all) if request.publishable() => Value::Object(
            all.into_iter()
                .filter(|(key, _)| I::PUBLISHABLE_FIELDS.contains(&key.as_str()))
                .collect::<Map<String, Value>>(),
        ),
        intent => intent,
    };
    request.render(store, intent)
}

/// `GET /v1/<intents>/:id`.
pub async fn retrieve<I: Intent>(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&RETRIEVE)?;
    app.read(|store| {
        let intent = I::get(store, &id)?;
        check_client_secret::<I>(&request, params, &intent)?;
        respond::<I>(&request, store, intent)
    })
}

/// The intent a confirm acts on: the request may see it (client secret) and it is still
/// confirmable.
pub fn to_confirm<I: Intent>(
    request: &ApiRequest,
    params: &Params,
    store: &Store,
    id: &str,
) -> Result<Value, ApiError> {
    let intent = I::get(store, id)?;
    check_client_secret::<I>(request, params, &intent)?;
    I::KIND.check_confirmable(&intent)?;
    Ok(intent)
}
