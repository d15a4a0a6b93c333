//! Warm-path benchmark (issue 9): what one warm invocation costs inside the function, with the
//! in-memory store and the fake Stripe behind the ports, so only our code is on the clock: the
//! API Gateway event parsed into a request, the adapter (gate, principal, role, body), the use
//! case, the answer serialized. Run by `tests/bench/run.sh` (release build), or alone:
//!
//!   cargo test --release -p billing-core --lib warm_path -- --ignored --nocapture
//!
//! It checks every measured call answered as intended (a wrong path fails the run) and writes a
//! TSV to `$BENCH_WARM_OUT` when set.

use crate::auth::authorizer::authorize_event;
use crate::auth::authorizer::tests::{claims, hs256, hs256_verifier};
use crate::domain::PaymentMethodId;
use crate::endpoints::*;
use crate::http::tests::{now, signed, stripe_event};
use crate::http::{Endpoint, serve};
use crate::testing::{TEST_WEBHOOK_SECRET, World};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

const ITERATIONS: usize = 2000;
const WARM_UP: usize = 200;
const CARD: &str = "pm_1SampleCard";

/// One endpoint's samples and the statuses it answered.
struct Series {
    name: &'static str,
    samples: Vec<Duration>,
    statuses: BTreeMap<u16, usize>,
}

impl Series {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            samples: Vec::with_capacity(ITERATIONS),
            statuses: BTreeMap::new(),
        }
    }

    fn record(&mut self, round: usize, elapsed: Duration, status: u16) {
        *self.statuses.entry(status).or_default() += 1;
        if round >= WARM_UP {
            self.samples.push(elapsed);
        }
    }

    fn percentile_ms(&self, p: f64) -> f64 {
        let mut sorted = self.samples.clone();
        sorted.sort();
        let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
        sorted[index].as_secs_f64() * 1e3
    }

    fn answered(&self) -> String {
        let parts: Vec<String> = self
            .statuses
            .iter()
            .map(|(status, n)| format!("{status} ×{n}"))
            .collect();
        parts.join(", ")
    }
}

/// A sample event from `events/`, as API Gateway would deliver it, with a fresh request id and
/// Idempotency-Key (one user action per round).
fn sample(name: &str, round: usize, edit: impl FnOnce(&mut Value)) -> String {
    let path = format!("{}/../events/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    event["requestContext"]["requestId"] = format!("warm-{name}-{round}").into();
    if event["headers"].get("idempotency-key").is_some() {
        event["headers"]["idempotency-key"] = format!("warm-{name}-{round}").into();
    }
    edit(&mut event);
    event.to_string()
}

/// Points a sample event of a `/{id}` route at `id` (its path parameter and its path).
fn with_id(event: &mut Value, path: String, id: String) {
    event["pathParameters"]["id"] = id.into();
    event["rawPath"] = path.clone().into();
    event["requestContext"]["http"]["path"] = path.into();
}

/// Times one invocation from the raw event to the finished response.
async fn invoke<E: Endpoint>(world: &World, endpoint: &E, event: &str) -> (Duration, u16) {
    let started = Instant::now();
    let request = lambda_http::request::from_str(event).unwrap();
    let response = serve(&world.app, endpoint, request).await;
    (started.elapsed(), response.status().as_u16())
}

async fn measure<E: Endpoint>(
    world: &World,
    name: &'static str,
    endpoint: E,
    mut prepare: impl FnMut(&World, usize) -> String,
) -> Series {
    let mut series = Series::new(name);
    for round in 0..WARM_UP + ITERATIONS {
        let event = prepare(world, round);
        let (elapsed, status) = invoke(world, &endpoint, &event).await;
        series.record(round, elapsed, status);
    }
    series
}

/// `name` measured on its sample event as it is (only the request id and key change per round).
async fn measure_as_is<E: Endpoint>(world: &World, name: &'static str, endpoint: E) -> Series {
    measure(world, name, endpoint, |_, round| {
        sample(name, round, |_| {})
    })
    .await
}

/// An org with a Stripe customer, a card and an active subscription: the state a warm function
/// usually sees.
async fn seeded_world() -> World {
    let world = World::new();
    let ensure = sample("ensure-customer", 0, |_| {});
    let (_, status) = invoke(&world, &EnsureCustomer, &ensure).await;
    assert_eq!(status, 201);
    let customer = world.customer_of("org_demo");
    world
        .gateway
        .attach(&customer, PaymentMethodId::parse(CARD).unwrap());
    world.subscriptions.add_active(&customer);
    world
}

async fn run_all() -> Vec<Series> {
    let world = seeded_world().await;
    let mut all = vec![
        measure_as_is(&world, "get-customer", GetCustomer).await,
        measure_as_is(&world, "ensure-customer", EnsureCustomer).await,
        measure_as_is(&world, "list-payment-methods", ListPaymentMethods).await,
        measure_as_is(&world, "create-setup-intent", CreateSetupIntent).await,
        measure_as_is(
            &world,
            "set-default-payment-method",
            SetDefaultPaymentMethod,
        )
        .await,
        measure(
            &world,
            "detach-payment-method",
            DetachPaymentMethod,
            |w, r| {
                // Attach a fresh card off the clock, so every round detaches one (not the
                // default, which the active subscription keeps: that is the 409 refusal).
                let card = format!("pm_warm{r}");
                let customer = w.customer_of("org_demo");
                w.gateway
                    .attach(&customer, PaymentMethodId::parse(&card).unwrap());
                sample("detach-payment-method", r, |e| {
                    with_id(e, format!("/billing/payment-methods/{card}"), card)
                })
            },
        )
        .await,
        measure_as_is(&world, "create-portal-session", CreatePortalSession).await,
        measure_as_is(&world, "list-plans", ListPlans).await,
        measure_as_is(&world, "get-subscription", GetSubscription).await,
        measure_as_is(&world, "preview-invoice", PreviewInvoice).await,
        measure(&world, "change-plan", ChangePlan, |_, r| {
            // Alternate plans so every round is a real change.
            let plan = if r % 2 == 0 {
                "pro_monthly"
            } else {
                "starter_monthly"
            };
            sample("change-plan", r, |e| {
                e["body"] = json!({"plan": plan, "timing": "immediate",
                    "proration_behavior": "always_invoice"})
                .to_string()
                .into()
            })
        })
        .await,
        measure(
            &world,
            "start-subscription",
            StartSubscriptionEndpoint,
            |w, r| {
                // End the previous round's subscription off the clock.
                w.subscriptions.end_all();
                sample("start-subscription", r, |_| {})
            },
        )
        .await,
        measure_as_is(&world, "list-invoices", ListInvoices).await,
        measure(&world, "pay-invoice", PayInvoice, |w, r| {
            // An open invoice per round, made off the clock: each round pays one.
            let invoice = w.invoices.add_open(&w.customer_of("org_demo"), 1000);
            sample("pay-invoice", r, |e| {
                with_id(e, format!("/billing/invoices/{invoice}/pay"), invoice)
            })
        })
        .await,
    ];
    // Cancel and resume alternate, each undoing the other.
    let (mut cancel, mut resume) = (
        Series::new("cancel-subscription"),
        Series::new("resume-subscription"),
    );
    for round in 0..WARM_UP + ITERATIONS {
        let event = sample("cancel-subscription", round, |_| {});
        let (elapsed, status) = invoke(&world, &CancelSubscription, &event).await;
        cancel.record(round, elapsed, status);
        let event = sample("resume-subscription", round, |_| {});
        let (elapsed, status) = invoke(&world, &ResumeSubscription, &event).await;
        resume.record(round, elapsed, status);
    }
    all.extend([cancel, resume, webhook(&world).await, authorizer().await]);
    all
}

/// A signed `customer.subscription.updated` (a whole Stripe subscription, as async-stripe parses
/// it) for the org's subscription, a new event id each round.
async fn webhook(world: &World) -> Series {
    let customer = world.customer_of("org_demo");
    let subscription = world
        .subscriptions
        .subscriptions
        .lock()
        .unwrap()
        .last()
        .unwrap()
        .1
        .id
        .clone();
    let mut series = Series::new("stripe-webhook");
    for round in 0..WARM_UP + ITERATIONS {
        let mut payload: Value =
            serde_json::from_str(&stripe_event(&format!("evt_warm{round}"))).unwrap();
        payload["data"]["object"]["id"] = subscription.as_str().into();
        payload["data"]["object"]["customer"] = customer.as_str().into();
        let payload = payload.to_string();
        let event = sample("stripe-webhook", round, |e| {
            e["body"] = payload.clone().into();
            e["headers"]["stripe-signature"] =
                signed(&payload, TEST_WEBHOOK_SECRET, now()).unwrap().into();
        });
        let started = Instant::now();
        let response = serve(
            &world.app,
            &StripeWebhook,
            lambda_http::request::from_str(&event).unwrap(),
        )
        .await;
        let elapsed = started.elapsed();
        let lambda_http::Body::Text(body) = response.body() else {
            panic!("text body")
        };
        assert!(body.contains("applied"), "{body}");
        series.record(round, elapsed, response.status().as_u16());
    }
    series
}

/// The authorizer's decision on a fresh HS256 token (minted off the clock).
async fn authorizer() -> Series {
    let verifier = hs256_verifier();
    let mut series = Series::new("authorizer");
    for round in 0..WARM_UP + ITERATIONS {
        let token = hs256(&claims("owner"));
        let event: Value = serde_json::from_str(&sample("authorizer", round, |e| {
            e["identitySource"] = json!([format!("Bearer {token}")]);
        }))
        .unwrap();
        let started = Instant::now();
        let decision = authorize_event(&verifier, event).await;
        let elapsed = started.elapsed();
        assert!(decision.expect("allowed").is_authorized);
        series.record(round, elapsed, 200);
    }
    series
}

const EXPECTED: &[(&str, u16)] = &[
    ("get-customer", 200),
    ("ensure-customer", 200),
    ("list-payment-methods", 200),
    ("create-setup-intent", 201),
    ("set-default-payment-method", 200),
    ("detach-payment-method", 200),
    ("create-portal-session", 201),
    ("list-plans", 200),
    ("get-subscription", 200),
    ("preview-invoice", 200),
    ("change-plan", 200),
    ("start-subscription", 201),
    ("cancel-subscription", 200),
    ("resume-subscription", 200),
    ("list-invoices", 200),
    ("pay-invoice", 200),
    ("stripe-webhook", 200),
    ("authorizer", 200),
];

#[tokio::test(flavor = "current_thread")]
#[ignore = "a benchmark: run by tests/bench/run.sh"]
async fn warm_path() {
    let all = run_all().await;
    let mut table = String::from("function\tp50_ms\tp99_ms\tmax_ms\tanswers\n");
    for series in &all {
        let expected = EXPECTED.iter().find(|(n, _)| *n == series.name).unwrap().1;
        assert_eq!(
            series.statuses.keys().collect::<Vec<_>>(),
            vec![&expected],
            "{} answered {}",
            series.name,
            series.answered()
        );
        writeln!(
            table,
            "{}\t{:.4}\t{:.4}\t{:.4}\t{}",
            series.name,
            series.percentile_ms(0.50),
            series.percentile_ms(0.99),
            series.percentile_ms(1.0),
            series.answered()
        )
        .unwrap();
    }
    print!("{table}");
    if let Ok(path) = std::env::var("BENCH_WARM_OUT") {
        std::fs::write(path, &table).unwrap();
    }
}
