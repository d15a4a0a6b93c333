//! Background webhook delivery: signed POSTs with bounded retries, plus the test modes
//! (duplicate, shuffle, pause) that reproduce Stripe's at-least-once, unordered delivery.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::app::{Inner, lock};
use crate::model::clock::wall_now;
use crate::model::events::Delivery;

/// `Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<payload>")>`.
pub fn signature_header(secret: &str, timestamp: i64, payload: &str) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(format!("{timestamp}.{payload}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[derive(Debug, Clone, Serialize)]
pub struct Mode {
    /// Each event is sent this many times per endpoint.
    pub duplicate: u32,
    /// Hold deliveries and send them in random order on flush.
    pub shuffle: bool,
    /// Hold deliveries until flush.
    pub pause: bool,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// Wait before the first retry; doubles for each later one.
    pub retry_backoff_ms: u64,
    pub timeout_ms: u64,
    /// First attempts in flight at once (1: one at a time, in queue order). Stripe promises
    /// neither order nor one-at-a-time delivery (SEMANTICS §10), so copies of one event can
    /// reach the endpoint together.
    pub concurrency: u32,
    /// Each first attempt waits a random 0..=jitter_ms before it is sent.
    pub jitter_ms: u64,
}

impl Default for Mode {
    fn default() -> Self {
        Self {
            duplicate: 1,
            shuffle: false,
            pause: false,
            max_attempts: 4,
            retry_backoff_ms: 200,
            timeout_ms: 5_000,
            concurrency: 1,
            jitter_ms: 0,
        }
    }
}

/// A partial update of [`Mode`] from the control API.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModeUpdate {
    duplicate: Option<u32>,
    shuffle: Option<bool>,
    pause: Option<bool>,
    max_attempts: Option<u32>,
    retry_backoff_ms: Option<u64>,
    timeout_ms: Option<u64>,
    concurrency: Option<u32>,
    jitter_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Status {
    Held,
    Pending,
    Delivered,
    Failed,
}

#[derive(Debug, Serialize)]
struct Record {
    event_id: String,
    #[serde(rename = "type")]
    event_type: String,
    endpoint: String,
    url: String,
    /// 1 for the original, 2.. for copies made by `duplicate`.
    copy: u32,
    status: Status,
    attempts: u32,
    response_status: Option<u16>,
    /// The start of the endpoint's last answer, so a test can read what the handler did.
    response_body: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Job {
    generation: u64,
    record: usize,
    delivery: Arc<Delivery>,
}

#[derive(Debug, Default)]
struct State {
    mode: Mode,
    /// Bumped by reset so jobs still in flight from before are dropped.
    generation: u64,
    held: Vec<Job>,
    log: Vec<Record>,
}

pub struct Webhooks {
    sender: mpsc::UnboundedSender<Job>,
    state: Mutex<State>,
    client: reqwest::Client,
}

impl Webhooks {
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Job>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let webhooks = Self {
            sender,
            state: Mutex::default(),
            client: reqwest::Client::new(),
        };
        (webhooks, receiver)
    }

    /// Queues deliveries without waiting for them.
    pub fn enqueue(&self, deliveries: Vec<Delivery>) {
        let mut state = lock(&self.state);
        let hold = state.mode.pause || state.mode.shuffle;
        for delivery in deliveries {
            let delivery = Arc::new(delivery);
            for copy in 1..=state.mode.duplicate {
                let job = Job {
                    generation: state.generation,
                    record: state.log.len(),
                    delivery: Arc::clone(&delivery),
                };
                state.log.push(Record {
                    event_id: delivery.event_id.clone(),
                    event_type: delivery.event_type.clone(),
                    endpoint: delivery.endpoint_id.clone(),
                    url: delivery.url.clone(),
                    copy,
                    status: if hold { Status::Held } else { Status::Pending },
                    attempts: 0,
                    response_status: None,
                    response_body: None,
                    error: None,
                });
                if hold {
                    state.held.push(job);
                } else {
                    // The worker only stops when the app is gone, so a send error cannot matter.
                    let _ = self.sender.send(job);
                }
            }
        }
    }

    /// Releases held deliveries (in random order in shuffle mode); returns how many.
    pub fn flush(&self) -> usize {
        let mut state = lock(&self.state);
        let mut held = std::mem::take(&mut state.held);
        if state.mode.shuffle {
            fastrand::shuffle(&mut held);
        }
        for job in &held {
            state.log[job.record].status = Status::Pending;
            let _ = self.sender.send(job.clone());
        }
        held.len()
    }

    pub fn mode(&self) -> Mode {
        lock(&self.state).mode.clone()
    }

    /// Updates the mode; leaving both pause and shuffle off releases what was held.
    pub fn set_mode(&self, update: ModeUpdate) -> Result<Mode, String> {
        let mode = {
            let mut state = lock(&self.state);
            let mut mode = state.mode.clone();
            mode.duplicate = update.duplicate.unwrap_or(mode.duplicate);
            mode.shuffle = update.shuffle.unwrap_or(mode.shuffle);
            mode.pause = update.pause.unwrap_or(mode.pause);
            mode.max_attempts = update.max_attempts.unwrap_or(mode.max_attempts);
            mode.retry_backoff_ms = update.retry_backoff_ms.unwrap_or(mode.retry_backoff_ms);
            mode.timeout_ms = update.timeout_ms.unwrap_or(mode.timeout_ms);
            mode.concurrency = update.concurrency.unwrap_or(mode.concurrency);
            mode.jitter_ms = update.jitter_ms.unwrap_or(mode.jitter_ms);
            if !(1..=10).contains(&mode.duplicate) {
                return Err("duplicate must be between 1 and 10".into());
            }
            if !(1..=10).contains(&mode.max_attempts) {
                return Err("max_attempts must be between 1 and 10".into());
            }
            if mode.retry_backoff_ms > 10_000 || !(1..=60_000).contains(&mode.timeout_ms) {
                return Err(
                    "retry_backoff_ms must be at most 10000 and timeout_ms 1..=60000".into(),
                );
            }
            if !(1..=32).contains(&mode.concurrency) || mode.jitter_ms > 10_000 {
                return Err("concurrency must be 1..=32 and jitter_ms at most 10000".into());
            }
            state.mode = mode.clone();
            mode
        };
        if !mode.pause && !mode.shuffle {
            self.flush();
        }
        Ok(mode)
    }

    pub fn deliveries(&self) -> Value {
        json!({ "data": lock(&self.state).log })
    }

    pub fn reset(&self) {
        let mut state = lock(&self.state);
        state.generation += 1;
        state.held.clear();
        state.log.clear();
        state.mode = Mode::default();
    }

    /// Current settings for this job, or `None` if a reset made it stale.
    fn settings(&self, job: &Job) -> Option<Mode> {
        let state = lock(&self.state);
        (state.generation == job.generation).then(|| state.mode.clone())
    }

    fn update(&self, job: &Job, f: impl FnOnce(&mut Record)) {
        let mut state = lock(&self.state);
        if state.generation == job.generation
            && let Some(record) = state.log.get_mut(job.record)
        {
            f(record);
        }
    }

    fn first_copy(&self, job: &Job) -> bool {
        let state = lock(&self.state);
        state.generation == job.generation && state.log.get(job.record).is_some_and(|r| r.copy == 1)
    }
}

/// How much of an endpoint's answer a delivery record keeps.
const RESPONSE_BODY_KEPT: usize = 500;

#[derive(PartialEq, Eq)]
enum Outcome {
    Delivered,
    Failed,
    Stale,
}

/// Sends first attempts in queue order, up to `concurrency` at once (each after its jitter);
/// retries run in their own tasks so a failing endpoint does not hold up the others.
pub async fn run_worker(app: Weak<Inner>, mut jobs: mpsc::UnboundedReceiver<Job>) {
    let mut in_flight = JoinSet::new();
    while let Some(job) = jobs.recv().await {
        let Some(app) = app.upgrade() else { break };
        let Some(mode) = app.webhooks.settings(&job) else {
            continue;
        };
        while in_flight.try_join_next().is_some() {}
        while in_flight.len() >= mode.concurrency as usize {
            in_flight.join_next().await;
        }
        if mode.concurrency == 1 && mode.jitter_ms == 0 {
            first_attempt(app, job, 0).await;
        } else {
            let jitter = fastrand::u64(0..=mode.jitter_ms);
            in_flight.spawn(first_attempt(app, job, jitter));
        }
    }
}

async fn first_attempt(app: Arc<Inner>, job: Job, jitter_ms: u64) {
    if jitter_ms > 0 {
        tokio::time::sleep(Duration::from_millis(jitter_ms)).await;
    }
    if attempt(&app, &job, 1).await == Outcome::Failed {
        tokio::spawn(retry(app, job));
    }
}

async fn retry(app: Arc<Inner>, job: Job) {
    let mut attempt_number = 2;
    loop {
        let Some(mode) = app.webhooks.settings(&job) else {
            return;
        };
        if attempt_number > mode.max_attempts {
            return;
        }
        let backoff = mode
            .retry_backoff_ms
            .saturating_mul(1 << (attempt_number - 2).min(16));
        tokio::time::sleep(Duration::from_millis(backoff)).await;
        if attempt(&app, &job, attempt_number).await != Outcome::Failed {
            return;
        }
        attempt_number += 1;
    }
}

async fn attempt(app: &Inner, job: &Job, number: u32) -> Outcome {
    let webhooks = &app.webhooks;
    let Some(mode) = webhooks.settings(job) else {
        return Outcome::Stale;
    };
    let delivery = &job.delivery;
    let signature = signature_header(&delivery.secret, wall_now(), &delivery.payload);
    let result = webhooks
        .client
        .post(&delivery.url)
        .timeout(Duration::from_millis(mode.timeout_ms))
        .header("content-type", "application/json; charset=utf-8")
        .header(
            "user-agent",
            "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        )
        .header("stripe-signature", signature)
        .body(delivery.payload.to_string())
        .send()
        .await;
    let (response_status, delivered, response_body, error) = match result {
        Ok(response) => {
            let status = response.status();
            // A body that cannot be read still leaves the status, which is what Stripe judges.
            let body = response.text().await.ok().map(|mut text| {
                let mut end = RESPONSE_BODY_KEPT.min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.truncate(end);
                text
            });
            (Some(status.as_u16()), status.is_success(), body, None)
        }
        Err(err) => (None, false, None, Some(err.to_string())),
    };
    let last = number >= mode.max_attempts;
    webhooks.update(job, |record| {
        record.attempts = number;
        record.response_status = response_status;
        record.response_body = response_body;
        record.error = error;
        record.status = match (delivered, last) {
            (true, _) => Status::Delivered,
            (false, true) => Status::Failed,
            (false, false) => Status::Pending,
        };
    });
    if !delivered {
        return Outcome::Failed;
    }
    if webhooks.first_copy(job) {
        // `pending_webhooks` counts endpoints still owed the event.
        let mut store = lock(&app.store);
        if let Some(event) = store.events.get_mut(&delivery.event_id) {
            let pending = event["pending_webhooks"].as_u64().unwrap_or(0);
            event["pending_webhooks"] = json!(pending.saturating_sub(1));
        }
    }
    Outcome::Delivered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_stripes_scheme() {
        // Reference computed with Python: hmac.new(b"whsec_test", b"12345.{}", sha256).hexdigest()
        assert_eq!(
            signature_header("whsec_test", 12345, "{}"),
            "t=12345,v1=f7d0d6f2476273381fa231a8ba13a821a0c87029e7b1bfae51e93d0240fb7c32"
        );
    }
}
