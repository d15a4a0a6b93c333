//! Stripe's test clocks (SEMANTICS §13 "Test clocks" [S59][S60][S61]): a customer created on a
//! clock lives at the clock's `frozen_time`, and so does everything billed to it (creation times,
//! periods, trial ends, schedule phases, invoice dates). Advancing the clock runs what fell due
//! for its customers, like the fake clock does for everyone else.

use serde_json::{Value, json};

use super::{Ctx, Item, subscriptions};
use crate::model::calendar::{self, DAY, Interval};
use crate::model::customers;
use crate::model::error::ApiError;
use crate::model::events::Changes;
use crate::model::ids;
use crate::model::store::Store;

pub const RESOURCE: &str = "test_helpers.test_clock";
/// Customers per clock and clocks per account (OBS [S61]: quoted in third-party code).
const MAX_CUSTOMERS: usize = 3;
pub const MAX_CLOCKS: usize = 100;
/// Clocks delete themselves this long after creation (`deletes_after`; not enforced).
const LIFETIME: i64 = 30 * DAY;

/// A new clock (`clock_…`), `ready`.
pub fn new_clock(frozen_time: i64, name: Option<&str>, now: i64) -> Value {
    json!({
        "id": ids::generate("clock", ids::LONG),
        "object": RESOURCE,
        "created": now,
        "deletes_after": now + LIFETIME,
        "frozen_time": frozen_time,
        "livemode": false,
        "name": name,
        "status": "ready",
        "status_details": {}
    })
}

/// The clock a customer lives on (its id), if any.
pub fn clock_of<'a>(store: &'a Store, customer: &str) -> Option<&'a str> {
    store.customers.get(customer)?["test_clock"].as_str()
}

/// The `test_clock` field of an object billed to `customer`: the clock's id or null.
pub fn field_for(store: &Store, customer: &str) -> Value {
    clock_of(store, customer).map_or(Value::Null, |clock| json!(clock))
}

/// The time `customer`'s objects live at: its clock's frozen time, else `now`.
pub fn now_for(store: &Store, customer: &str, now: i64) -> i64 {
    clock_of(store, customer)
        .and_then(|clock| store.test_clocks.get(clock))
        .and_then(|clock| clock["frozen_time"].as_i64())
        .unwrap_or(now)
}

/// `ctx` for a change to `customer`'s objects: at its clock's frozen time if it has one. The
/// search index keeps counting on the fake clock.
pub fn ctx_for(store: &Store, ctx: &Ctx, customer: &str) -> Ctx {
    Ctx {
        now: now_for(store, customer, ctx.now),
        ..ctx.clone()
    }
}

/// [`ctx_for`] the customer of `object` (a subscription, schedule, …), if any.
pub fn ctx_of(store: &Store, ctx: &Ctx, object: Option<&Value>) -> Ctx {
    let customer = object
        .and_then(|o| o["customer"].as_str())
        .unwrap_or_default();
    ctx_for(store, ctx, customer)
}

/// The live customers on a clock, oldest first.
pub fn customers_on(store: &Store, clock: &str) -> Vec<String> {
    store
        .customers
        .oldest_first()
        .filter(|c| c["test_clock"] == clock && !customers::is_deleted(c))
        .filter_map(|c| c["id"].as_str().map(str::to_owned))
        .collect()
}

/// A customer may join a clock only at creation, while it has fewer than three customers.
pub fn check_joinable(store: &Store, clock: &str) -> Result<i64, ApiError> {
    let frozen = store
        .test_clocks
        .get(clock)
        .and_then(|c| c["frozen_time"].as_i64())
        .ok_or_else(|| ApiError::no_such_param(RESOURCE, clock, "test_clock"))?;
    if customers_on(store, clock).len() >= MAX_CUSTOMERS {
        return Err(ApiError::state_refused(format!(
            "The test clock {clock} already has the maximum of {MAX_CUSTOMERS} customers."
        )));
    }
    Ok(frozen)
}

/// The furthest an advance may go: two intervals of the shortest billing interval among the
/// clock's live subscriptions, two years without any (SEMANTICS §13 [S60]).
pub fn advance_limit(store: &Store, clock: &Value) -> i64 {
    let frozen = clock["frozen_time"].as_i64().unwrap_or(0);
    let customers = customers_on(store, clock["id"].as_str().unwrap_or_default());
    store
        .subscriptions
        .oldest_first()
        .filter(|s| {
            !subscriptions::is_ended(s) && customers.iter().any(|c| s["customer"] == c.as_str())
        })
        .filter_map(|s| {
            subscriptions::items_of(s)
                .first()
                .and_then(Item::recurrence)
        })
        .map(|r| calendar::add(frozen, r.interval, 2 * r.count))
        .min()
        .unwrap_or_else(|| calendar::add(frozen, Interval::Year, 2))
}

/// Deletes a clock and its customers (their live subscriptions canceled first, as a customer
/// delete does). Events: the customers', then `test_helpers.test_clock.deleted`.
pub fn delete(store: &mut Store, changes: &mut Changes, ctx: &Ctx, id: &str) -> Option<Value> {
    let clock = store.test_clocks.get(id).cloned()?;
    for customer in customers_on(store, id) {
        let at = ctx_for(store, ctx, &customer);
        subscriptions::cancel_all_of(store, changes, &at, &customer);
        if let Ok(object) = customers::live(store, &customer).cloned() {
            customers::delete(store, changes, object, ctx.now_ms);
        }
    }
    store.test_clocks.remove(id);
    changes.deleted("test_helpers.test_clock.deleted", &clock);
    Some(json!({ "id": id, "object": RESOURCE, "deleted": true }))
}
