//! The API contract: an OpenAPI 3.1 document built from the request/response types (utoipa
//! schemas), each endpoint's `ACCESS` and the error codes each route can answer.
//! Built only with the `openapi` feature, by the contract tool (`tests/contract`): `openapi.json`
//! at the repository root is its committed copy, and that tool's test keeps the two equal
//! (`make openapi` rewrites it).

use crate::auth::{Access, Role};
use crate::endpoints::{EndpointVisitor, visit_all};
use crate::error::{BillingError, ErrorEnvelope};
use crate::http::{Endpoint, RequestBody};
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

/// One route of the contract, read off its endpoint.
struct Route {
    route: crate::http::Route,
    /// The body's schema, and whether it is required (it has required fields).
    body: Option<(RefOr<Schema>, bool)>,
    /// Statuses the route succeeds with (ensure-customer answers 201 or 200).
    success: Vec<(u16, RefOr<Schema>)>,
    /// Failures beyond the ones every authorized route can answer.
    errors: Vec<BillingError>,
    parameters: &'static [crate::http::Parameter],
}

fn upstream() -> Box<dyn std::error::Error + Send + Sync> {
    "upstream".into()
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

/// A body with required fields must be sent; one without may be empty (read as `{}`).
fn has_required_fields<T: ToSchema>() -> bool {
    match T::schema() {
        RefOr::T(Schema::Object(object)) => !object.required.is_empty(),
        _ => false,
    }
}

/// Collects every endpoint's route and the schemas its types need.
struct Collector {
    schemas: Schemas,
    routes: Vec<Route>,
}

impl EndpointVisitor for Collector {
    fn visit<E: Endpoint>(&mut self) {
        let body = <E::Body as RequestBody>::DOCUMENTED.then(|| {
            (
                schema_ref::<E::Body>(&mut self.schemas),
                has_required_fields::<E::Body>(),
            )
        });
        let response = schema_ref::<E::Response>(&mut self.schemas);
        self.routes.push(Route {
            route: E::ROUTE,
            body,
            success: E::SUCCESS
                .iter()
                .map(|status| (*status, response.clone()))
                .collect(),
            errors: E::errors(),
            parameters: E::PARAMETERS,
        });
    }
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
    if let Some(access) = route.route.access {
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
        .operation_id(Some(route.route.function))
        .summary(Some(route.route.summary))
        .tag("billing");
    for (status, schema) in route.success {
        operation = operation.response(
            status.to_string(),
            ResponseBuilder::new()
                .description("Success")
                .content("application/json", json_content(schema)),
        );
    }
    let gateway_fronted = route.route.access.is_some();
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
        .add("x-function", route.route.function)
        .add("x-error-codes", json!(by_status));
    match route.route.access {
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
    if route.route.access == Some(Access::Manage) {
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
    for parameter in route.parameters {
        let schema = match parameter.integer_range {
            Some((min, max)) => ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(min))
                .maximum(Some(max)),
            None => ObjectBuilder::new().schema_type(Type::String),
        };
        let (location, required) = if parameter.in_path {
            (ParameterIn::Path, Required::True)
        } else {
            (ParameterIn::Query, Required::False)
        };
        operation = operation.parameter(
            ParameterBuilder::new()
                .name(parameter.name)
                .parameter_in(location)
                .required(required)
                .description(Some(parameter.description))
                .schema(Some(schema)),
        );
    }
    if let Some((body, required)) = route.body {
        let required = if required {
            Required::True
        } else {
            Required::False
        };
        operation = operation.request_body(Some(
            RequestBodyBuilder::new()
                .content("application/json", json_content(body))
                .required(Some(required))
                .build(),
        ));
    }
    operation.extensions(Some(extensions.build())).build()
}

fn http_method(method: &http::Method) -> HttpMethod {
    match *method {
        http::Method::GET => HttpMethod::Get,
        http::Method::PUT => HttpMethod::Put,
        http::Method::DELETE => HttpMethod::Delete,
        http::Method::PATCH => HttpMethod::Patch,
        _ => HttpMethod::Post,
    }
}

/// The whole document.
pub fn document() -> OpenApi {
    let mut collector = Collector {
        schemas: Schemas::new(),
        routes: Vec::new(),
    };
    let envelope = schema_ref::<ErrorEnvelope>(&mut collector.schemas);
    visit_all(&mut collector);
    let Collector { schemas, routes } = collector;
    let mut paths = PathsBuilder::new();
    for route in routes {
        let (path, method) = (route.route.path, http_method(&route.route.method));
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
