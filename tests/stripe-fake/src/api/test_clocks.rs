//! `/v1/test_helpers/test_clocks`: create, retrieve, list, delete and advance (SEMANTICS §13 "Test
//! clocks"). The time rules are in `crate::billing::test_clocks`.

use axum::extract::{Path, State};
use axum::response::Json;
use serde_json::{Value, json};

use crate::app::App;
use crate::billing::test_clocks::{self, MAX_CLOCKS, RESOURCE};
use crate::http::params::{NONE, Params, Spec};
use crate::http::pipeline::{ApiRequest, ApiResult};
use crate::http::resource::{Listed, Resource};
use crate::model::error::ApiError;
use crate::model::store::{Collection, Store};

/// `customer` (attach an existing customer) is not modelled: customers join at creation.
const CREATE: Spec = Spec::new(&["expand", "frozen_time", "name"], &["customer"]);
const ADVANCE: Spec = Spec::new(&["expand", "frozen_time"], &[]);

pub struct TestClocks;

impl Resource for TestClocks {
    const NAME: &'static str = RESOURCE;

    fn collection(store: &Store) -> &Collection {
        &store.test_clocks
    }
}

impl Listed for TestClocks {
    const URL: &'static str = "/v1/test_helpers/test_clocks";
    const LIST: Spec = Spec::list(&[], &[]);

    fn filter(_: &Params) -> Result<impl Fn(&Value) -> bool + '_, ApiError> {
        Ok(|_: &Value| true)
    }
}

fn frozen_time(params: &Params) -> Result<i64, ApiError> {
    params
        .integer("frozen_time")?
        .ok_or_else(|| ApiError::missing_parameter("frozen_time"))
}

pub async fn create(State(app): State<App>, request: ApiRequest) -> ApiResult {
    let params = request.params(&CREATE)?;
    let frozen = frozen_time(params)?;
    let name = params.string("name")?.filter(|n| !n.is_empty());
    app.write(&request, |store, changes| {
        if store.test_clocks.oldest_first().count() >= MAX_CLOCKS {
            return Err(ApiError::state_refused(format!(
                "You have reached the maximum of {MAX_CLOCKS} test clocks on this account."
            )));
        }
        let clock = test_clocks::new_clock(frozen, name, app.clock.now());
        changes.created("test_helpers.test_clock.created", &clock);
        store.test_clocks.insert(clock.clone());
        request.render(store, clock)
    })
}

pub async fn delete(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    request.params(&NONE)?;
    let ctx = app.ctx();
    app.write(&request, |store, changes| {
        test_clocks::delete(store, changes, &ctx, &id)
            .map(Json)
            .ok_or_else(|| ApiError::no_such(RESOURCE, &id))
    })
}

/// Moves the clock forward to `frozen_time`: the answer shows `status: advancing`
/// (`test_helpers.test_clock.advancing`); what fell due for its customers then runs, each at its
/// own moment, and the clock is `ready` again (`test_helpers.test_clock.ready`) before the
/// response is sent, so the next retrieve sees `ready`.
pub async fn advance(
    State(app): State<App>,
    Path(id): Path<String>,
    request: ApiRequest,
) -> ApiResult {
    let params = request.params(&ADVANCE)?;
    let target = frozen_time(params)?;
    let response = app.write(&request, |store, changes| {
        let mut clock = TestClocks::get(store, &id)?;
        let frozen = clock["frozen_time"].as_i64().unwrap_or(0);
        if target <= frozen {
            return Err(ApiError::invalid(
                "frozen_time",
                format!(
                    "The frozen_time ({target}) must be after the clock's current frozen_time \
                     ({frozen}): test clocks only move forward."
                ),
            ));
        }
        let limit = test_clocks::advance_limit(store, &clock);
        if target > limit {
            return Err(ApiError::invalid(
                "frozen_time",
                format!(
                    "A test clock can advance at most two intervals of its shortest \
                     subscription at a time (up to {limit})."
                ),
            ));
        }
        clock["frozen_time"] = json!(target);
        clock["status"] = json!("advancing");
        clock["status_details"] = json!({ "advancing": { "target_frozen_time": target } });
        changes.event("test_helpers.test_clock.advancing", &clock);
        store.test_clocks.insert(clock.clone());
        request.render(store, clock)
    })?;
    app.run_due();
    app.write_automatic(|store, changes| {
        if let Some(clock) = store.test_clocks.get_mut(&id) {
            clock["status"] = json!("ready");
            clock["status_details"] = json!({});
            changes.event("test_helpers.test_clock.ready", clock);
        }
        Ok::<_, ApiError>(())
    })?;
    Ok(response)
}
