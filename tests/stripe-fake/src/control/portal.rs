//! The page a billing portal session's `url` opens, and the HTML helpers the fake's other pages
//! share.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use crate::app::App;

/// The page a portal session's `url` opens: the customer and a link back to `return_url`.
pub async fn portal_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Some(session) = app.read(|store| store.portal_sessions.get(&id).cloned()) else {
        return not_found("Portal session not found", &id);
    };
    let text = |key: &str| session[key].as_str().map(escape);
    let customer = text("customer").unwrap_or_default();
    let flow = session["flow"]["type"]
        .as_str()
        .map(escape)
        .unwrap_or_else(|| "none".into());
    let back = match text("return_url") {
        Some(url) => format!(r#"<p><a id="return" href="{url}">Return to {url}</a></p>"#),
        None => "<p>No return URL.</p>".to_owned(),
    };
    let body = format!(
        r#"<p>Customer: <span id="customer">{customer}</span></p>
<p>Session: <span id="session">{}</span></p>
<p>Flow: <span id="flow">{flow}</span></p>
{back}"#,
        escape(&id)
    );
    Html(page("stripe-fake customer portal", &body)).into_response()
}

/// A 404 page for an unknown object.
pub(super) fn not_found(title: &str, id: &str) -> Response {
    (
        StatusCode::NOT_FOUND,
        Html(page(title, &format!("<p>No object {}.</p>", escape(id)))),
    )
        .into_response()
}

pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )
}

pub(super) fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '&' => "&amp;".to_owned(),
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '"' => "&quot;".to_owned(),
            '\'' => "&#39;".to_owned(),
            c => c.to_string(),
        })
        .collect()
}
