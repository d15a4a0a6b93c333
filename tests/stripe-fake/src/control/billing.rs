//! Billing controls: the fake clock (advancing it runs what fell due), failing a subscription's
//! next payment, paying an open invoice as Stripe.js would, the 3D Secure challenge of an
//! invoice's PaymentIntent, and the hosted invoice page and PDF.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::payments::Authenticate;
use super::portal::{escape, not_found, page};
use super::{ControlError, ControlResult, bad_request, body};
use crate::app::App;
use crate::billing::invoices::{Attempt, Charge};
use crate::billing::payments::{self, Method};
use crate::billing::test_clocks;
use crate::model::intents::AuthenticateError;

fn clock_view(app: &App) -> Json<Value> {
    Json(json!({ "now": app.clock.now(), "offset_seconds": app.clock.offset_seconds() }))
}

pub async fn clock(State(app): State<App>) -> Json<Value> {
    clock_view(&app)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    seconds: i64,
}

/// The clock only moves forward, like a Stripe test clock; then everything that fell due runs
/// (schedule phases, cancellations, renewals, trial ends), in time order.
pub async fn advance_clock(State(app): State<App>, bytes: Bytes) -> ControlResult {
    let Advance { seconds } = body(&bytes)?;
    if seconds < 0 {
        return Err(bad_request("seconds must not be negative"));
    }
    app.clock.advance(seconds);
    let processed = app.run_due();
    let Json(mut view) = clock_view(&app);
    view["processed"] = json!(processed);
    Ok(Json(view))
}

/// The subscription's next payment attempt (renewal or immediate update invoice) declines.
pub async fn fail_next_payment(State(app): State<App>, Path(id): Path<String>) -> ControlResult {
    let found = app.write_automatic(|store, _| {
        if store.subscriptions.get(&id).is_none() {
            return Err(ControlError(
                StatusCode::NOT_FOUND,
                format!("no subscription {id}"),
            ));
        }
        store.billing.fail_next_payment.insert(id.clone());
        Ok(())
    });
    found.map(|()| Json(json!({ "ok": true, "subscription": id })))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Pay {
    #[serde(default)]
    payment_method: Option<String>,
}

/// Completes an open invoice as the customer confirming its PaymentIntent in the browser would
/// (`{}`: any 3D Secure challenge passed), or pays it with a card the customer enters
/// (`{"payment_method": "pm_card_visa"}`, attached once it pays; a declining card fails the
/// payment: 402). The same paying path as `POST /v1/invoices/:id/pay`. Answers with the invoice.
pub async fn pay_invoice(
    State(app): State<App>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let Pay { payment_method } = body(&bytes)?;
    let ctx = app.ctx();
    app.write_automatic(|store, changes| {
        let invoice = store.invoices.get(&id).cloned();
        let ctx = test_clocks::ctx_of(store, &ctx, invoice.as_ref());
        let request = payments::Request {
            method: payment_method
                .as_deref()
                .map_or(Method::Default, Method::Entered),
            attempt: Attempt::OnSession,
            authenticated: true,
        };
        let payment = payments::pay(store, changes, &ctx, &id, request).map_err(|error| {
            let status = match error.status {
                StatusCode::NOT_FOUND | StatusCode::PAYMENT_REQUIRED => error.status,
                _ => StatusCode::CONFLICT,
            };
            ControlError(status, error.message)
        })?;
        match payment.charge {
            Charge::Declined(decline) => Err(ControlError(
                StatusCode::PAYMENT_REQUIRED,
                decline.message.to_owned(),
            )),
            _ => Ok(Json(store.invoices.get(&id).cloned().unwrap_or_default())),
        }
    })
}

/// Completes the 3D Secure challenge of a PaymentIntent in `requires_action` (paying its
/// invoice), or fails it with `{"fail":true}`. Answers with the PaymentIntent.
pub async fn authenticate_payment_intent(
    State(app): State<App>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> ControlResult {
    let Authenticate { fail } = body(&bytes)?;
    let ctx = app.ctx();
    app.write_automatic(|store, changes| {
        let intent = store.payment_intents.get(&id).cloned();
        let ctx = test_clocks::ctx_of(store, &ctx, intent.as_ref());
        payments::authenticate(store, changes, &ctx, &id, fail)
    })
    .map(Json)
    .map_err(|e| match e {
        AuthenticateError::NotFound => {
            ControlError(StatusCode::NOT_FOUND, format!("no payment intent {id}"))
        }
        AuthenticateError::Conflict(message) => ControlError(StatusCode::CONFLICT, message),
    })
}

/// The page an invoice's `hosted_invoice_url` opens: number, status and amounts.
pub async fn invoice_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Some(invoice) = app.read(|store| store.invoices.get(&id).cloned()) else {
        return not_found("Invoice not found", &id);
    };
    let field = |key: &str| escape(&invoice[key].to_string().replace('"', ""));
    let body = format!(
        r#"<p>Number: <span id="number">{}</span></p>
<p>Status: <span id="status">{}</span></p>
<p>Amount due: <span id="amount_due">{}</span> <span id="currency">{}</span></p>
<p>Amount paid: <span id="amount_paid">{}</span></p>
<p><a id="pdf" href="{}">Download PDF</a></p>"#,
        field("number"),
        field("status"),
        field("amount_due"),
        field("currency"),
        field("amount_paid"),
        field("invoice_pdf"),
    );
    Html(page("stripe-fake invoice", &body)).into_response()
}

/// What an invoice's `invoice_pdf` links to: a one-page PDF naming the invoice.
pub async fn invoice_pdf(State(app): State<App>, Path(id): Path<String>) -> Response {
    let Some(invoice) = app.read(|store| store.invoices.get(&id).cloned()) else {
        return not_found("Invoice not found", &id);
    };
    let text = format!(
        "Invoice {} {} {} {}",
        invoice["number"].as_str().unwrap_or_default(),
        invoice["status"].as_str().unwrap_or_default(),
        invoice["amount_due"],
        invoice["currency"].as_str().unwrap_or_default()
    );
    ([(header::CONTENT_TYPE, "application/pdf")], pdf(&text)).into_response()
}

/// A minimal valid PDF with one line of text (PDF strings escape `\`, `(` and `)`).
fn pdf(text: &str) -> Vec<u8> {
    let text: String = text
        .chars()
        .filter(char::is_ascii)
        .flat_map(|c| match c {
            '\\' | '(' | ')' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    let stream = format!("BT /F1 12 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
         /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!(
            "<< /Length {} >>\nstream\n{stream}\nendstream",
            stream.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = String::from("%PDF-1.4\n");
    let mut offsets = Vec::with_capacity(objects.len());
    for (i, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.push_str(&format!("{} 0 obj\n{object}\nendobj\n", i + 1));
    }
    let xref = out.len();
    out.push_str(&format!(
        "xref\n0 {}\n0000000000 65535 f \n",
        objects.len() + 1
    ));
    for offset in offsets {
        out.push_str(&format!("{offset:010} 00000 n \n"));
    }
    out.push_str(&format!(
        "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
        objects.len() + 1
    ));
    out.into_bytes()
}
