//! The API contract: an OpenAPI 3.1 document built from the request/response types (utoipa
//! schemas), each endpoint's `ACCESS` and the error codes each route can answer.
//! `openapi.json` at the repository root is its committed copy; a test keeps the two equal
//! (`UPDATE_OPENAPI=1 cargo test -p billing-core openapi` rewrites it).

use crate::auth::{Access, Role};
use crate::endpoints::*;
use crate::error::{BillingError, ErrorEnvelope};
use crate::http::{Endpoint, WebhookAck};
use crate::service::payment_methods::Detached;
use crate::service::subscriptions::{
    PlanChangeRequest, PreviewRequest, PreviewView, StartSubscription, Started, SubscriptionView,
};
use serde_json::json;
use std::collections::BTreeMap;
use utoipa::ToSchema;
use utoipa::openapi::extensions::ExtensionsBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ComponentsBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Ref, RefOr,
    Required, ResponseBuilder, ServerBuilder,
};

type Schemas = Vec<(String, RefOr<Schema>)>;

/// A schema reference that also collects the type's schema (and its nested ones).
fn schema_ref<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    schemas.push((T::name().into_owned(), T::schema()));
    T::schemas(schemas);
    Ref::from_schema_name(T::name()).into()
}

/// One route of the API, as template.yaml routes it to its function.
struct Route {
    function: &'static str,
    method: HttpMethod,
    path: &'static str,
    summary: &'static str,
    /// `None`: no authorizer (the webhook authenticates by signature).
    access: Option<Access>,
    body: Option<RefOr<Schema>>,
    /// Statuses the route succeeds with (ensure-customer answers 201 or 200).
    success: Vec<(u16, RefOr<Schema>)>,
    /// Failures beyond the ones every authorized route can answer.
    errors: Vec<BillingError>,
}

fn upstream() -> Box<dyn std::error::Error + Send + Sync> {
    "upstream".into()
}

/// What every route calling Stripe can also answer.
fn stripe_errors() -> [BillingError; 2] {
    [
        BillingError::StripeUnavailable(upstream()),
        BillingError::StripeRejected(upstream()),
    ]
}

fn with_stripe(mut errors: Vec<BillingError>) -> Vec<BillingError> {
    errors.extend(stripe_errors());
    errors
}

/// What every route behind the authorizer can answer, whatever it does.
fn common_errors(access: Access, has_body: bool) -> Vec<BillingError> {
    let mut errors = vec![
        BillingError::BillingDisabled,
        BillingError::Unauthenticated,
        BillingError::InvalidIdempotencyKey,
        BillingError::PayloadTooLarge,
        BillingError::StoreUnavailable(upstream()),
        BillingError::Internal(upstream()),
    ];
    if access == Access::Manage {
        errors.push(BillingError::Forbidden);
    }
    if has_body {
        errors.extend([
            BillingError::InvalidJson,
            BillingError::InvalidRequest(String::new()),
        ]);
    }
    errors
}

fn routes(s: &mut Schemas) -> Vec<Route> {
    use BillingError as E;
    let subscription = schema_ref::<SubscriptionView>(s);
    let customer = schema_ref::<CustomerView>(s);
    let change_errors = || {
        with_stripe(vec![
            E::SubscriptionNotFound,
            E::SubscriptionEnded,
            E::IdempotencyConflict,
        ])
    };
    vec![
        Route {
            function: "get-customer",
            method: HttpMethod::Get,
            path: "/billing/customer",
            summary: "The org's billing customer and the synced copy of its subscription (no Stripe call)",
            access: Some(GetCustomer::ACCESS),
            body: None,
            success: vec![(200, customer.clone())],
            errors: vec![E::CustomerNotFound],
        },
        Route {
            function: "ensure-customer",
            method: HttpMethod::Post,
            path: "/billing/customer",
            summary: "Creates the org's Stripe customer once (201) or returns the existing one (200)",
            access: Some(EnsureCustomer::ACCESS),
            body: Some(schema_ref::<EnsureCustomerBody>(s)),
            success: vec![(201, customer.clone()), (200, customer)],
            errors: stripe_errors().into(),
        },
        Route {
            function: "list-payment-methods",
            method: HttpMethod::Get,
            path: "/billing/payment-methods",
            summary: "The org's cards, default first (empty without a customer)",
            access: Some(ListPaymentMethods::ACCESS),
            body: None,
            success: vec![(200, schema_ref::<PaymentMethodList>(s))],
            errors: stripe_errors().into(),
        },
        Route {
            function: "create-setup-intent",
            method: HttpMethod::Post,
            path: "/billing/setup-intents",
            summary: "A SetupIntent (off_session, card) for Stripe Elements; ensures the customer",
            access: Some(CreateSetupIntent::ACCESS),
            body: Some(schema_ref::<CreateSetupIntentBody>(s)),
            success: vec![(201, schema_ref::<SetupIntentView>(s))],
            errors: with_stripe(vec![E::IdempotencyConflict]),
        },
        Route {
            function: "set-default-payment-method",
            method: HttpMethod::Put,
            path: "/billing/payment-methods/default",
            summary: "Makes one of the org's cards the default (also the live subscription's)",
            access: Some(SetDefaultPaymentMethod::ACCESS),
            body: Some(schema_ref::<SetDefaultPaymentMethodBody>(s)),
            success: vec![(200, schema_ref::<DefaultPaymentMethodView>(s))],
            errors: with_stripe(vec![
                E::InvalidPaymentMethodId,
                E::PaymentMethodNotFound,
                E::IdempotencyConflict,
            ]),
        },
        Route {
            function: "detach-payment-method",
            method: HttpMethod::Delete,
            path: "/billing/payment-methods/{id}",
            summary: "Removes a card; removing the default promotes the newest other card first",
            access: Some(DetachPaymentMethod::ACCESS),
            body: None,
            success: vec![(200, schema_ref::<Detached>(s))],
            errors: with_stripe(vec![
                E::InvalidPaymentMethodId,
                E::PaymentMethodNotFound,
                E::DefaultPaymentMethodRequired,
                E::IdempotencyConflict,
            ]),
        },
        Route {
            function: "create-portal-session",
            method: HttpMethod::Post,
            path: "/billing/portal-session",
            summary: "A Stripe Customer Portal session; ensures the customer",
            access: Some(CreatePortalSession::ACCESS),
            body: Some(schema_ref::<PortalSessionBody>(s)),
            success: vec![(201, schema_ref::<PortalSessionView>(s))],
            errors: with_stripe(vec![E::InvalidReturnUrl, E::IdempotencyConflict]),
        },
        Route {
            function: "list-plans",
            method: HttpMethod::Get,
            path: "/billing/plans",
            summary: "The plans on sale (BILLING_PLANS), with their Stripe prices",
            access: Some(ListPlans::ACCESS),
            body: None,
            success: vec![(200, schema_ref::<PlanList>(s))],
            errors: stripe_errors().into(),
        },
        Route {
            function: "get-subscription",
            method: HttpMethod::Get,
            path: "/billing/subscription",
            summary: "The org's latest subscription, read from Stripe, with any scheduled change",
            access: Some(GetSubscription::ACCESS),
            body: None,
            success: vec![(200, subscription.clone())],
            errors: with_stripe(vec![E::SubscriptionNotFound]),
        },
        Route {
            function: "start-subscription",
            method: HttpMethod::Post,
            path: "/billing/subscription",
            summary: "Starts a subscription; `client_secret` is set while the first payment needs the customer",
            access: Some(StartSubscriptionEndpoint::ACCESS),
            body: Some(schema_ref::<StartSubscription>(s)),
            success: vec![(201, schema_ref::<Started>(s))],
            errors: with_stripe(vec![
                E::UnknownPlan,
                E::SubscriptionExists,
                E::InvalidPaymentMethodId,
                E::PaymentMethodNotFound,
                E::IdempotencyConflict,
            ]),
        },
        Route {
            function: "preview-invoice",
            method: HttpMethod::Post,
            path: "/billing/invoice-preview",
            summary: "No body: the upcoming invoice. With a plan: the invoice that change would produce, and its proration_date",
            access: Some(PreviewInvoice::ACCESS),
            body: Some(schema_ref::<PreviewRequest>(s)),
            success: vec![(200, schema_ref::<PreviewView>(s))],
            errors: with_stripe(vec![
                E::SubscriptionNotFound,
                E::UnknownPlan,
                E::PlanUnchanged,
            ]),
        },
        Route {
            function: "change-plan",
            method: HttpMethod::Post,
            path: "/billing/subscription/plan-change",
            summary: "Changes plan now (prorated at the preview's proration_date) or at period end; the current plan at period end withdraws a pending change",
            access: Some(ChangePlan::ACCESS),
            body: Some(schema_ref::<PlanChangeRequest>(s)),
            success: vec![(200, subscription.clone())],
            errors: {
                let mut errors = change_errors();
                errors.extend([E::UnknownPlan, E::PlanUnchanged, E::InvalidProrationDate]);
                errors
            },
        },
        Route {
            function: "cancel-subscription",
            method: HttpMethod::Post,
            path: "/billing/subscription/cancel",
            summary: "Cancels at the end of the paid period",
            access: Some(CancelSubscription::ACCESS),
            body: Some(schema_ref::<CancelBody>(s)),
            success: vec![(200, subscription.clone())],
            errors: change_errors(),
        },
        Route {
            function: "resume-subscription",
            method: HttpMethod::Post,
            path: "/billing/subscription/resume",
            summary: "Undoes a cancellation at period end",
            access: Some(ResumeSubscription::ACCESS),
            body: Some(schema_ref::<EnsureCustomerBody>(s)),
            success: vec![(200, subscription)],
            errors: change_errors(),
        },
        Route {
            function: "stripe-webhook",
            method: HttpMethod::Post,
            path: "/billing/webhooks/stripe",
            summary: "Stripe's event deliveries, authenticated by the Stripe-Signature header (no bearer token)",
            access: None,
            body: Some(ObjectBuilder::new().schema_type(Type::Object).into()),
            success: vec![(200, schema_ref::<WebhookAck>(s))],
            errors: with_stripe(vec![
                E::BillingDisabled,
                E::InvalidSignature,
                E::InvalidPayload,
                E::StoreUnavailable(upstream()),
                E::Internal(upstream()),
            ]),
        },
    ]
}

fn roles(access: Access) -> Vec<&'static str> {
    [Role::Viewer, Role::Admin, Role::Owner]
        .into_iter()
        .filter(|role| role.may(access))
        .map(Role::as_str)
        .collect()
}

/// API Gateway's own answer before any function runs: `{"message": "Unauthorized"}`.
fn gateway_message() -> RefOr<Schema> {
    ObjectBuilder::new()
        .property("message", ObjectBuilder::new().schema_type(Type::String))
        .required("message")
        .into()
}

fn json_content(schema: RefOr<Schema>) -> utoipa::openapi::Content {
    ContentBuilder::new().schema(Some(schema)).build()
}

fn operation(route: Route, envelope: &RefOr<Schema>) -> utoipa::openapi::path::Operation {
    let mut errors = route.errors;
    if let Some(access) = route.access {
        errors.extend(common_errors(access, route.body.is_some()));
    }
    // status → codes, sorted and deduplicated so the document is stable.
    let mut by_status: BTreeMap<u16, Vec<&'static str>> = BTreeMap::new();
    for error in &errors {
        by_status
            .entry(error.status().as_u16())
            .or_default()
            .push(error.code());
    }
    let mut operation = OperationBuilder::new()
        .operation_id(Some(route.function))
        .summary(Some(route.summary))
        .tag("billing");
    for (status, schema) in route.success {
        operation = operation.response(
            status.to_string(),
            ResponseBuilder::new()
                .description("Success")
                .content("application/json", json_content(schema)),
        );
    }
    let gateway_fronted = route.access.is_some();
    if gateway_fronted {
        // The authorizer refuses a missing/invalid token (401) or an unknown role (403) itself.
        by_status.entry(401).or_default();
        by_status.entry(403).or_default();
    }
    for (status, codes) in &mut by_status {
        codes.sort_unstable();
        codes.dedup();
        let mut description = format!("Error codes: {}", codes.join(", "));
        match status {
            401 if gateway_fronted => description.push_str(
                " (API Gateway: `{\"message\":\"Unauthorized\"}` for a missing or invalid token)",
            ),
            403 if gateway_fronted => description
                .push_str(" (API Gateway: `{\"message\":\"Forbidden\"}` for an unknown role)"),
            _ => {}
        }
        // API Gateway answers 401/403 itself (no/invalid token, unknown role) with its own body.
        let schema = match status {
            401 | 403 if gateway_fronted => Schema::OneOf(
                utoipa::openapi::schema::OneOfBuilder::new()
                    .item(envelope.clone())
                    .item(gateway_message())
                    .build(),
            )
            .into(),
            _ => envelope.clone(),
        };
        operation = operation.response(
            status.to_string(),
            ResponseBuilder::new()
                .description(description.trim_start_matches("Error codes:  "))
                .content("application/json", json_content(schema)),
        );
    }
    let mut extensions = ExtensionsBuilder::new()
        .add("x-function", route.function)
        .add("x-error-codes", json!(by_status));
    match route.access {
        Some(access) => {
            extensions = extensions.add("x-roles", roles(access));
            operation =
                operation.security(SecurityRequirement::new("bearer", Vec::<String>::new()));
        }
        None => {
            operation = operation
                .security(SecurityRequirement::default())
                .parameter(
                    ParameterBuilder::new()
                        .name("Stripe-Signature")
                        .parameter_in(ParameterIn::Header)
                        .required(Required::True)
                        .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
                );
        }
    }
    if route.access == Some(Access::Manage) {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "1–200 visible ASCII characters; a repeat replays the first result (scoped to the org)",
                ))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .min_length(Some(1))
                        .max_length(Some(200))
                        .pattern(Some("^[\\x21-\\x7E]+$")),
                )),
        );
    }
    if route.path.contains("{id}") {
        operation = operation.parameter(
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some("A payment method id (`pm_…`)"))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    if let Some(body) = route.body {
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json_content(body))
                // Every body is optional: an empty body means `{}`.
                .required(Some(Required::False))
                .build(),
        ));
    }
    operation.extensions(Some(extensions.build())).build()
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut schemas = Schemas::new();
    let envelope = schema_ref::<ErrorEnvelope>(&mut schemas);
    let mut paths = PathsBuilder::new();
    for route in routes(&mut schemas) {
        let (path, method) = (route.path, route.method.clone());
        paths = paths.path(path, PathItem::new(method, operation(route, &envelope)));
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "The user's JWT; the Lambda authorizer passes its org_id and role on",
                    ))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Billing API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Stripe billing for a multi-tenant SaaS. Errors: {\"error\":{code,message,request_id}}; \
                     money in integer minor units; times in Unix seconds unless named *_at (RFC 3339).",
                ))
                .build(),
        )
        .servers(Some([ServerBuilder::new()
            .url("http://127.0.0.1:3000")
            .description(Some("make dev"))
            .build()]))
        .paths(paths.build())
        .components(Some(components))
        .build()
}

/// Every object's keys in order: utoipa keeps extensions in a `HashMap`, whose order varies
/// from run to run, and the committed file must not.
fn sorted(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries
                .into_iter()
                .map(|(key, value)| (key, sorted(value)))
                .collect()
        }
        serde_json::Value::Array(items) => items.into_iter().map(sorted).collect(),
        other => other,
    }
}

/// The document as committed: pretty JSON with a trailing newline.
pub fn document_json() -> String {
    let value = serde_json::to_value(document()).unwrap_or_default();
    let mut text = serde_json::to_string_pretty(&sorted(value)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi.json");

    #[test]
    fn the_committed_openapi_json_is_what_the_code_generates() {
        let generated = document_json();
        if std::env::var_os("UPDATE_OPENAPI").is_some() {
            std::fs::write(COMMITTED, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(COMMITTED).unwrap_or_default();
        assert!(
            committed == generated,
            "openapi.json is stale: run `make openapi` and commit it"
        );
    }

    #[test]
    fn every_route_lists_its_roles_and_error_codes() {
        let doc: serde_json::Value = serde_json::from_str(&document_json()).unwrap();
        let ops: Vec<&serde_json::Value> = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .collect();
        assert_eq!(ops.len(), 15);
        let manage = ops
            .iter()
            .filter(|op| op["x-roles"] == json!(["admin", "owner"]))
            .count();
        assert_eq!(manage, 9);
        for op in &ops {
            assert!(
                op["x-error-codes"]
                    .as_object()
                    .is_some_and(|c| !c.is_empty())
            );
        }
    }
}
