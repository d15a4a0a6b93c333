//! Shared state of one fake Stripe: the store and the cross-cutting pieces around it.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value;

use crate::billing::{self, Ctx};
use crate::http::counter::RequestCounter;
use crate::http::faults::Faults;
use crate::http::idempotency::Idempotency;
use crate::http::pipeline::ApiRequest;
use crate::model::behaviours::Behaviours;
use crate::model::catalogue::{self, Catalogue};
use crate::model::clock::Clock;
use crate::model::error::ApiError;
use crate::model::events::{self, Changes, Origin};
use crate::model::ids;
use crate::model::store::Store;
use crate::webhooks::{self, Webhooks};

/// Settings of one fake Stripe server.
#[derive(Debug, Clone)]
pub struct Config {
    /// 0 picks a free port.
    pub port: u16,
    /// One stderr line per request.
    pub log_requests: bool,
    /// The products and prices to start with, kept across `/_fake/reset` (empty by default).
    pub seed: Catalogue,
}

pub const DEFAULT_PORT: u16 = 12111;

/// A safety net against a transition that fails to move its object forward.
const MAX_STEPS: usize = 10_000;

impl Default for Config {
    fn default() -> Self {
        Self {
            port: DEFAULT_PORT,
            log_requests: true,
            seed: Catalogue::default(),
        }
    }
}

pub struct Inner {
    pub config: Config,
    /// Where this fake listens (portal URLs point here).
    pub addr: SocketAddr,
    /// The account's default customer portal configuration (`bpc_…`).
    pub portal_configuration: String,
    /// The account's default payment method configuration (`pmc_…`), shown on SetupIntents that
    /// use automatic payment methods.
    pub payment_method_configuration: String,
    /// The seed catalogue's objects, put back with the same ids on every reset.
    pub seed: Vec<Value>,
    pub clock: Clock,
    pub behaviours: Mutex<Behaviours>,
    pub store: Mutex<Store>,
    pub idempotency: Idempotency,
    pub faults: Faults,
    pub requests: RequestCounter,
    pub webhooks: Webhooks,
}

#[derive(Clone)]
pub struct App(Arc<Inner>);

impl Deref for App {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Locks a mutex; a panic elsewhere must not wedge the whole fake.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl App {
    /// Must run inside a Tokio runtime: it starts the webhook delivery worker.
    pub fn new(config: Config, addr: SocketAddr) -> Self {
        let (webhooks, jobs) = Webhooks::new();
        let clock = Clock::default();
        let seed = config.seed.objects(clock.now());
        let mut store = Store::default();
        catalogue::restore(&mut store, &seed);
        let inner = Arc::new(Inner {
            config,
            addr,
            portal_configuration: ids::generate("bpc", ids::LONG),
            payment_method_configuration: ids::generate("pmc", ids::LONG),
            seed,
            clock,
            behaviours: Mutex::default(),
            store: Mutex::new(store),
            idempotency: Idempotency::default(),
            faults: Faults::default(),
            requests: RequestCounter::default(),
            webhooks,
        });
        tokio::spawn(webhooks::run_worker(Arc::downgrade(&inner), jobs));
        Self(inner)
    }

    /// `http://127.0.0.1:<port>`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn behaviours(&self) -> Behaviours {
        lock(&self.behaviours).clone()
    }

    /// The moment and switches a billing change runs with: now on the fake clock.
    pub fn ctx(&self) -> Ctx {
        Ctx::new(self.clock.now_ms(), self.behaviours(), self.base_url())
    }

    pub fn read<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&lock(&self.store))
    }

    /// Runs a change under the store lock, then records its events and queues their webhooks.
    /// `f` must validate before it mutates: an error leaves no events behind.
    pub fn write<T>(
        &self,
        request: &ApiRequest,
        f: impl FnOnce(&mut Store, &mut Changes) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        self.write_from(request.origin(), f)
    }

    /// A change no API request caused (control API): its events have `request.id` null.
    pub fn write_automatic<T, E>(
        &self,
        f: impl FnOnce(&mut Store, &mut Changes) -> Result<T, E>,
    ) -> Result<T, E> {
        self.write_from(Origin::default(), f)
    }

    fn write_from<T, E>(
        &self,
        origin: Origin<'_>,
        f: impl FnOnce(&mut Store, &mut Changes) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut store = lock(&self.store);
        let mut changes = Changes::default();
        let out = f(&mut store, &mut changes)?;
        let deliveries = events::record(&mut store, changes, origin, self.clock.now());
        drop(store);
        self.webhooks.enqueue(deliveries);
        Ok(out)
    }

    /// Runs every transition due (at the fake clock's now, or a test clock's frozen time for its
    /// customers), each in its own write with its own events; returns how many ran.
    pub fn run_due(&self) -> usize {
        let mut processed = 0;
        while processed < MAX_STEPS {
            let ctx = self.ctx();
            let ran = self.write_automatic(|store, changes| {
                Ok::<_, Infallible>(billing::clock::run_next(store, changes, &ctx))
            });
            if ran != Ok(true) {
                break;
            }
            processed += 1;
        }
        processed
    }

    /// Back to a fresh fake; webhook endpoints stay unless `all`.
    pub fn reset(&self, all: bool) {
        {
            let mut store = lock(&self.store);
            store.reset(all);
            catalogue::restore(&mut store, &self.seed);
        }
        *lock(&self.behaviours) = Behaviours::default();
        self.idempotency.clear();
        self.faults.clear();
        self.requests.reset();
        self.webhooks.reset();
        self.clock.reset();
    }
}
