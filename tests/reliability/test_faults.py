"""Fault injection at every upstream step of every mutation.

For each mutation the steps are discovered, not listed by hand: the mutation runs once cleanly and
the fake's request counts (Stripe) or the proxy's log (DynamoDB) name every upstream call it made.
Then, for each step, a fresh org in the same starting state gets the mutation with that step
failing: Stripe 429 / 500 / timeout / connection reset (before or after Stripe executed it), and
DynamoDB throttling / timeout / connection reset / conditional-check failure. The client must get
the stable error envelope (503 + Retry-After for stripe_unavailable / store_unavailable); once the
fault is cleared, a retry with the same Idempotency-Key must reach the right final state with no
orphan or duplicate Stripe objects (customers, subscriptions, schedules, invoices, cards).
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import pytest
from rel import FULL_MATRIX, LEDGER, new_org_id
from stacklib import mint_token
from support import Api

RETRY_ATTEMPTS = 4
RETRY_PAUSE_S = 0.5
STRIPE_TIMEOUT_DELAY_MS = 5600  # just past the product's 5 s per-attempt timeout
STATS: Counter = Counter()


@dataclass
class Ctx:
    org_id: str
    token: str
    customer: str | None = None
    subscription: str | None = None
    cards: tuple[str, ...] = ()
    invoice: str | None = None


@dataclass(frozen=True)
class Mutation:
    name: str
    method: str
    path: Callable[[Ctx], str]
    body: Callable[[Ctx], dict | None]
    success: tuple[int, ...]
    setup: str  # fresh | customer | cards2 | subscribed | subscribed_card | canceling
    verify: Callable  # (stripe, api, ctx, body) -> list[str] problems


# ------------------------------------------------------------------------------------------------
# Starting states (made through the clean main stack and the fake's control API)


def prepare(api: Api, stripe, setup: str) -> Ctx:
    org_id = new_org_id("org_rel_fault")
    ctx = Ctx(org_id, mint_token(org_id, "owner"))
    if setup == "fresh":
        return ctx
    response = api.ensure_customer(ctx.token, json={})
    assert response.status_code == 201, response.text
    ctx.customer = response.json()["stripe_customer_id"]
    if setup == "customer":
        return ctx
    count = 2 if setup in ("cards2", "subscribed_card") else 1
    cards = stripe.control("POST", f"/customers/{ctx.customer}/payment_methods", json={"token": "pm_card_visa", "count": count})
    ctx.cards = tuple(c["id"] for c in cards["data"])
    stripe.v1("POST", f"/v1/customers/{ctx.customer}", data={"invoice_settings[default_payment_method]": ctx.cards[0]})
    if setup in ("cards1", "cards2"):
        return ctx
    # Made directly in Stripe (as in the Dashboard): the product reads the subscription from Stripe.
    data = {"customer": ctx.customer, "items[0][price]": price_id(stripe, "starter_monthly")}
    if setup == "canceling":
        data["cancel_at_period_end"] = "true"
    if setup == "open_invoice":  # invoiced, not charged: an open invoice for the API to pay
        data.update({"collection_method": "send_invoice", "days_until_due": "7"})
    subscription = stripe.v1("POST", "/v1/subscriptions", data=data)
    assert subscription["status"] == "active", subscription["status"]
    ctx.subscription = subscription["id"]
    ctx.invoice = subscription["latest_invoice"]
    return ctx


_PRICES: dict[str, str] = {}


def price_id(stripe, plan: str) -> str:
    if plan not in _PRICES:
        _PRICES[plan] = stripe.price_id(plan)
    return _PRICES[plan]


# ------------------------------------------------------------------------------------------------
# Final-state checks: the Stripe side (no orphans, no duplicates) and the API's answer/record


def one_customer(stripe, api, ctx) -> list[str]:
    problems = []
    customers = stripe.customers_of_org(ctx.org_id)
    if len(customers) != 1:
        problems.append(f"{len(customers)} Stripe customers for the org")
        return problems
    record = api.get_customer(ctx.token)
    if record.status_code != 200 or record.json()["stripe_customer_id"] != customers[0]["id"]:
        problems.append(f"record does not link the one customer: {record.status_code} {record.text[:200]}")
    ctx.customer = customers[0]["id"]
    return problems


def subscription_state(stripe, api, ctx, *, subscriptions=1, invoices=1, schedules=0, copy=True) -> tuple[list[str], dict]:
    problems = one_customer(stripe, api, ctx)
    if problems:
        return problems, {}
    subs = stripe.subscriptions_of(ctx.customer)
    if len(subs) != subscriptions:
        problems.append(f"{len(subs)} subscriptions (expected {subscriptions})")
    invs = stripe.invoices_of(ctx.customer)
    if len(invs) != invoices:
        problems.append(f"{len(invs)} invoices (expected {invoices}): charged {[i['amount_paid'] for i in invs]}")
    live = stripe.live_schedules_of(ctx.customer)
    if len(live) != schedules:
        problems.append(f"{len(live)} live schedules (expected {schedules})")
    if not subs:
        return problems, {}
    truth = subs[0]
    if not copy:  # this mutation does not promise to write the subscription copy
        return problems, truth
    copy = api.get_customer(ctx.token).json().get("subscription") or {}
    for key, value in (
        ("id", truth["id"]),
        ("status", truth["status"]),
        ("plan", truth["items"]["data"][0]["price"]["lookup_key"]),
        ("cancel_at_period_end", truth["cancel_at_period_end"]),
    ):
        if copy.get(key) != value:
            problems.append(f"record copy {key}={copy.get(key)!r}, Stripe {value!r}")
    return problems, truth


def verify_ensure(stripe, api, ctx, body):
    problems = one_customer(stripe, api, ctx)
    if not problems and body.get("stripe_customer_id") != ctx.customer:
        problems.append("answer names another customer")
    return problems


def verify_setup_intent(stripe, api, ctx, body):
    problems = one_customer(stripe, api, ctx)
    if problems:
        return problems
    if not body.get("id"):
        return ["the answer has no SetupIntent id"]
    intent = stripe.v1("GET", f"/v1/setup_intents/{body['id']}")
    if intent["customer"] != ctx.customer:
        problems.append(f"SetupIntent for {intent['customer']}, not the org's customer")
    return problems


def verify_default(stripe, api, ctx, body):
    problems, truth = subscription_state(stripe, api, ctx, copy=False)
    customer = stripe.v1("GET", f"/v1/customers/{ctx.customer}")
    if customer["invoice_settings"]["default_payment_method"] != ctx.cards[1]:
        problems.append("customer default not set")
    if truth and truth.get("default_payment_method") != ctx.cards[1]:
        problems.append(f"subscription default is {truth.get('default_payment_method')}, not the chosen card")
    if len(stripe.attached_cards(ctx.customer)) != 2:
        problems.append("attached cards changed")
    return problems


def verify_detach(stripe, api, ctx, body):
    problems = one_customer(stripe, api, ctx)
    attached = [c["id"] for c in stripe.attached_cards(ctx.customer)]
    if attached != [ctx.cards[1]]:
        problems.append(f"attached cards {attached}, expected only {ctx.cards[1]}")
    customer = stripe.v1("GET", f"/v1/customers/{ctx.customer}")
    if customer["invoice_settings"]["default_payment_method"] != ctx.cards[1]:
        problems.append(f"default is {customer['invoice_settings']['default_payment_method']}, expected the other card")
    return problems


def verify_portal(stripe, api, ctx, body):
    problems = one_customer(stripe, api, ctx)
    if not str(body.get("url", "")).startswith("http"):
        problems.append("no portal url")
    return problems


def verify_start(stripe, api, ctx, body):
    problems, truth = subscription_state(stripe, api, ctx)
    if truth and truth["status"] != "active":
        problems.append(f"status {truth['status']}")
    if truth and body.get("subscription", {}).get("id") != truth["id"]:
        problems.append("answer names another subscription")
    return problems


def verify_change_now(stripe, api, ctx, body):
    problems, truth = subscription_state(stripe, api, ctx, invoices=2)
    if truth and truth["items"]["data"][0]["price"]["lookup_key"] != "pro_monthly":
        problems.append("plan not changed")
    return problems


def verify_change_later(stripe, api, ctx, body):
    problems, truth = subscription_state(stripe, api, ctx, schedules=1)
    if truth and truth["items"]["data"][0]["price"]["lookup_key"] != "starter_monthly":
        problems.append("current plan changed")
    if (body.get("scheduled_change") or {}).get("plan") != "pro_monthly":
        problems.append(f"answer's scheduled_change {body.get('scheduled_change')}")
    copy = api.get_customer(ctx.token).json().get("subscription") or {}
    if copy.get("scheduled_change") != body.get("scheduled_change"):
        problems.append(f"record scheduled_change {copy.get('scheduled_change')}, answer {body.get('scheduled_change')}")
    return problems


def verify_cancel(stripe, api, ctx, body):
    problems, truth = subscription_state(stripe, api, ctx)
    if truth and not truth["cancel_at_period_end"]:
        problems.append("not canceling at period end")
    return problems


def verify_resume(stripe, api, ctx, body):
    problems, truth = subscription_state(stripe, api, ctx)
    if truth and truth["cancel_at_period_end"]:
        problems.append("still canceling")
    return problems


def verify_pay(stripe, api, ctx, body):
    problems, _ = subscription_state(stripe, api, ctx, copy=False)
    invoice = stripe.v1("GET", f"/v1/invoices/{ctx.invoice}")
    if invoice["status"] != "paid" or invoice["amount_paid"] != invoice["amount_due"]:
        problems.append(f"invoice {invoice['status']}, paid {invoice['amount_paid']} of {invoice['amount_due']}")
    if (body.get("invoice") or {}).get("status") != "paid":
        problems.append(f"answer's invoice {(body.get('invoice') or {}).get('status')}")
    return problems


MUTATIONS = [
    Mutation("ensure customer", "POST", lambda c: "/billing/customer", lambda c: {}, (201, 200), "fresh", verify_ensure),
    Mutation("setup intent", "POST", lambda c: "/billing/setup-intents", lambda c: {}, (201,), "fresh", verify_setup_intent),
    Mutation(
        "set default", "PUT", lambda c: "/billing/payment-methods/default",
        lambda c: {"payment_method_id": c.cards[1]}, (200,), "subscribed_card", verify_default,
    ),
    Mutation(
        "detach", "DELETE", lambda c: f"/billing/payment-methods/{c.cards[0]}", lambda c: None, (200,), "cards2",
        verify_detach,
    ),
    Mutation("portal", "POST", lambda c: "/billing/portal-session", lambda c: {}, (201,), "customer", verify_portal),
    Mutation(
        "start subscription", "POST", lambda c: "/billing/subscription", lambda c: {"plan": "starter_monthly"},
        (201,), "cards1", verify_start,
    ),
    Mutation(
        "plan change now", "POST", lambda c: "/billing/subscription/plan-change",
        lambda c: {"plan": "pro_monthly", "timing": "immediate", "proration_behavior": "always_invoice"},
        (200,), "subscribed", verify_change_now,
    ),
    Mutation(
        "plan change at period end", "POST", lambda c: "/billing/subscription/plan-change",
        lambda c: {"plan": "pro_monthly", "timing": "period_end"}, (200,), "subscribed", verify_change_later,
    ),
    Mutation(
        "cancel", "POST", lambda c: "/billing/subscription/cancel", lambda c: {"at_period_end": True}, (200,),
        "subscribed", verify_cancel,
    ),
    Mutation("resume", "POST", lambda c: "/billing/subscription/resume", lambda c: {}, (200,), "canceling", verify_resume),
    Mutation(
        "pay invoice", "POST", lambda c: f"/billing/invoices/{c.invoice}/pay", lambda c: {}, (200,), "open_invoice",
        verify_pay,
    ),
]

# ------------------------------------------------------------------------------------------------
# Running one case


def call(api: Api, mutation: Mutation, ctx: Ctx, key: str):
    body = mutation.body(ctx)
    kwargs = {"headers": {"Idempotency-Key": key}}
    if body is not None:
        kwargs["json"] = body
    return api.request(mutation.method, mutation.path(ctx), ctx.token, **kwargs)


def check_envelope(response, status: int, code: str | tuple[str, ...]) -> str | None:
    codes = (code,) if isinstance(code, str) else code
    try:
        error = response.json().get("error") or {}
    except ValueError:
        return f"not JSON: {response.status_code} {response.text[:200]}"
    if response.status_code != status or error.get("code") not in codes:
        return f"expected {status} {'/'.join(codes)}, got {response.status_code} {response.text[:200]}"
    if not (error.get("message") and error.get("request_id")):
        return f"incomplete envelope: {response.text[:200]}"
    if error["request_id"] != response.headers.get("apigw-requestid"):
        return "request_id differs from the apigw-requestid header"
    if status == 503 and not (response.headers.get("Retry-After") or "").isdigit():
        return f"503 without a numeric Retry-After ({response.headers.get('Retry-After')!r})"
    return None


def retry_until_done(api, mutation, ctx, key):
    """The client's retry after the fault is gone: the same Idempotency-Key, a few times on 503."""
    response = None
    for attempt in range(RETRY_ATTEMPTS):
        response = call(api, mutation, ctx, key)
        if response.status_code != 503:
            return response, attempt + 1
        time.sleep(RETRY_PAUSE_S)
    return response, RETRY_ATTEMPTS


def run_case(group, label, api, stripe, mutation, arm, clear, expected, verify_api):
    """arm(ctx) injects the fault; clear() removes it and says how often it fired (a fault that
    never fired fails the case: the step was not exercised). expected: (status, codes) the faulted
    call must answer, or None when a success is acceptable too (a fault the product absorbs: its
    own bounded retry, or reading back a write whose outcome was unknown)."""
    ctx = prepare(verify_api, stripe, mutation.setup)
    key = f"rel-{uuid.uuid4().hex}"
    problems = []
    arm(ctx)
    try:
        faulted = call(api, mutation, ctx, key)
    finally:
        fired = clear()
    STATS[f"{group} faulted answer {faulted.status_code}"] += 1
    FIRED[f"{mutation.name} / {label}"] += fired
    if not fired:
        problems.append("the fault never fired: the step was not exercised")
    if expected is not None:
        problem = check_envelope(faulted, *expected)
        if problem:
            problems.append(f"faulted call: {problem}")
    elif faulted.status_code not in mutation.success:
        problem = check_envelope(faulted, 503, ("stripe_unavailable", "store_unavailable"))
        if problem:
            problems.append(f"faulted call: {problem}")
    if faulted.status_code in mutation.success:
        final, attempts = faulted, 0
    else:
        final, attempts = retry_until_done(api, mutation, ctx, key)
    if final.status_code not in mutation.success:
        problems.append(f"retry with the same Idempotency-Key: {final.status_code} {final.text[:200]}")
        STATS[f"{group} retry not converged"] += 1
        body = {}
    else:
        body = final.json()
    problems += mutation.verify(stripe, verify_api, ctx, body)
    return settle(group, mutation, label, problems, ctx)


def settle(group, mutation, label, problems, ctx) -> list[str]:
    """Records the case; returns its problems (each fails the run)."""
    if not problems:
        LEDGER.record(group, f"{mutation.name} / {label}", True)
        return []
    detail = f"{'; '.join(problems)} [org {ctx.org_id}]"
    LEDGER.record(group, f"{mutation.name} / {label}", False, detail)
    return [f"{mutation.name} / {label}: {detail}"]


# ------------------------------------------------------------------------------------------------
# Stripe faults


# (label, fault body, phase). "before": Stripe did not execute the call; "after": it did, and the
# client lost or got a failed answer (a 500 is then what Stripe replays under the key, a reset
# leaves the real answer saved). A 429 is only "before": Stripe rate-limits before executing.
STRIPE_KINDS = [
    ("429", {"kind": "status", "status": 429}, "before"),
    ("500", {"kind": "status", "status": 500}, "after"),
    ("reset", {"kind": "reset"}, "after"),
    ("500", {"kind": "status", "status": 500}, "before"),
    ("reset", {"kind": "reset"}, "before"),
]
AFTER_KINDS = [k for k in STRIPE_KINDS if k[2] == "after"]
BEFORE_KINDS = [k for k in STRIPE_KINDS if k[2] == "before"]
# Each timeout case costs ~6 s, so the CI size times out only the call that creates and charges.
TIMEOUT_CI = {"start subscription": "POST /v1/subscriptions"}
# The plan catalogue is read once per container and cached (5 min), so a fault on it fires only
# in a container's first request: not a step of a single mutation's run.
CACHED_STEPS = {"GET /v1/prices"}
FIRED: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def webhooks_held(stripe):
    """Webhook deliveries wait while faults are armed: they would otherwise consume faults and
    add upstream calls."""
    stripe.webhook_mode(pause=True)
    yield
    if STATS:
        LEDGER.figure("fault answers: " + ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items())))
    if FIRED:
        LEDGER.figure(f"faults fired: {sum(FIRED.values())} requests over {len(FIRED)} cases, each case at least once")
    # The held deliveries are for this module's throwaway orgs: dropped (with everything else the
    # fake holds; the catalogue comes back with the same ids) rather than delivered, which would
    # only make the next module wait for them.
    stripe.control("POST", "/reset")


def stripe_steps(api, stripe, mutation) -> list[str]:
    """The Stripe routes a clean run calls. The fake counts every request, so a late webhook
    delivery from an earlier test can add a route: two clean runs, and only what both called."""
    seen = []
    for run in ("no fault", "no fault, again"):
        ctx = prepare(api, stripe, mutation.setup)
        stripe.reset_requests()
        response = call(api, mutation, ctx, f"rel-{uuid.uuid4().hex}")
        assert response.status_code in mutation.success, response.text
        seen.append(set(stripe.requests_by_route()))
        problems = mutation.verify(stripe, api, ctx, response.json())
        assert not settle("clean runs", mutation, run, problems, ctx), f"clean run of {mutation.name}: {problems}"
    return sorted(seen[0] & seen[1])


_rotation = Counter()


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name.replace(" ", "-"))
def test_stripe_faults_at_every_step(api, stripe, mutation):
    steps = [s for s in stripe_steps(api, stripe, mutation) if s not in CACHED_STEPS]
    assert steps, f"{mutation.name} made no Stripe call"
    failures = []
    for index, route in enumerate(steps):
        # Every "after" kind on every step (Stripe executed; its answer lost or a 500 it replays),
        # one rotating "before" kind; the full matrix: every kind.
        if FULL_MATRIX:
            kinds = STRIPE_KINDS
        else:
            kinds = [*AFTER_KINDS, BEFORE_KINDS[(_rotation["stripe"] + index) % len(BEFORE_KINDS)]]
        for label, fault, phase in kinds:

            def arm(ctx, fault=fault, phase=phase, route=route):
                stripe.fault(route, when=phase, **fault)

            expected = (503, "stripe_unavailable") if phase == "before" else None
            failures += run_case(
                "stripe faults", f"{route} {label} {phase}", api, stripe, mutation, arm, stripe.clear_faults,
                expected, api,
            )
    _rotation["stripe"] += 1
    # A timeout: in the CI size on the create/charge calls, held once just past the product's 5 s
    # per-attempt timeout (its own retry must absorb it); in the full matrix every step, held on
    # every attempt (the client must get 503).
    timeout_steps = steps if FULL_MATRIX else [r for r in steps if TIMEOUT_CI.get(mutation.name) == r]
    for route in timeout_steps:
        # "after": Stripe executed the call and the answer never came; its key replays the saved
        # result to the product's retry, like Stripe's (the fake keeps it when the client gives up).
        for when in ("before", "after"):

            def arm(ctx, route=route, when=when):
                times = None if FULL_MATRIX else 1
                stripe.fault(route, kind="timeout", when=when, times=times, delay_ms=STRIPE_TIMEOUT_DELAY_MS)

            expected = (503, "stripe_unavailable") if FULL_MATRIX and when == "before" else None
            failures += run_case(
                "stripe faults", f"{route} timeout {when}", api, stripe, mutation, arm, stripe.clear_faults,
                expected, api,
            )
    assert not failures, failures


# ------------------------------------------------------------------------------------------------
# Stripe 4xx refusals: the customer was deleted in Stripe, the deletion's webhook not yet applied


@pytest.mark.parametrize("mutation", [m for m in MUTATIONS if m.name in ("setup intent", "portal", "start subscription")],
                         ids=lambda m: m.name.replace(" ", "-"))
def test_a_stripe_refusal_is_502_and_nothing_is_left_behind(api, stripe, mutation):
    ctx = prepare(api, stripe, "customer")
    stripe.v1("DELETE", f"/v1/customers/{ctx.customer}")
    response = call(api, mutation, ctx, f"rel-{uuid.uuid4().hex}")
    problem = check_envelope(response, 502, "stripe_error")
    subs = stripe.list_all("/v1/subscriptions", customer=ctx.customer, status="all") if not problem else []
    live = [c for c in stripe.customers_of_org(ctx.org_id)]
    problems = [p for p in (problem,) if p]
    if subs:
        problems.append(f"{len(subs)} subscriptions on the deleted customer")
    if live:
        problems.append(f"{len(live)} new customers created behind the refusal")
    LEDGER.record("stripe 4xx refusals", f"{mutation.name} on a customer deleted in Stripe", not problems,
                  "; ".join(problems))
    assert not problems, problems


# ------------------------------------------------------------------------------------------------
# DynamoDB faults, through the proxy in front of moto (the second stack)


DYNAMO_KINDS = ["throttle", "timeout", "reset", "ptee"]
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems"}
DYNAMO_PARALLEL = 4  # faults are scoped to the case's org id, so cases run side by side


def dynamo_steps(proxied_api, api, stripe, dynamo_proxy, mutation) -> list[tuple[str, str]]:
    ctx = prepare(api, stripe, mutation.setup)
    response = call(proxied_api, mutation, ctx, f"rel-{uuid.uuid4().hex}")
    assert response.status_code in mutation.success, response.text
    steps = sorted(set(dynamo_proxy.calls(ctx.org_id)))
    problems = mutation.verify(stripe, api, ctx, response.json())
    assert not settle("clean runs", mutation, "no fault (proxied)", problems, ctx), problems
    return steps


def dynamo_case(proxied_api, api, stripe, dynamo_proxy, mutation, operation, table, kind) -> list[str]:
    """One DynamoDB fault, scoped to the case's own org."""
    ctx = prepare(api, stripe, mutation.setup)
    key = f"rel-{uuid.uuid4().hex}"
    label = f"{operation} {table} {kind}"
    before = dynamo_proxy.calls(ctx.org_id).count((operation, table))
    dynamo_proxy.arm(operation, table, kind, hold_s=0.5, scope=ctx.org_id)
    try:
        faulted = call(proxied_api, mutation, ctx, key)
    finally:
        dynamo_proxy.clear(scope=ctx.org_id)
    reached = dynamo_proxy.calls(ctx.org_id).count((operation, table)) > before
    STATS[f"dynamodb {kind} answer {faulted.status_code}"] += 1
    problems = []
    if not reached:
        problems.append("the fault never fired: the step was not exercised")
    elif kind == "ccf":
        # A conditional-check failure no other writer caused: the product cannot tell it from a lost
        # race, so a success or a stable 500/503 envelope is accepted; the retry must converge.
        if faulted.status_code not in mutation.success:
            problem = check_envelope(faulted, faulted.status_code, ("internal_error", "store_unavailable"))
            if problem or faulted.status_code not in (500, 503):
                problems.append(f"faulted call: {problem or faulted.status_code}")
    else:
        problem = check_envelope(faulted, 503, "store_unavailable")
        if problem:
            problems.append(f"faulted call: {problem}")
    if faulted.status_code in mutation.success and kind != "ccf":
        final = faulted
    else:
        final, _ = retry_until_done(proxied_api, mutation, ctx, key)
    if final.status_code not in mutation.success:
        problems.append(f"retry with the same Idempotency-Key: {final.status_code} {final.text[:200]}")
        body = {}
    else:
        body = final.json()
    problems += mutation.verify(stripe, api, ctx, body)
    return settle("dynamodb faults", mutation, f"{label} (answered {faulted.status_code})", problems, ctx)


def test_dynamodb_faults_at_every_step_of_every_mutation(proxied_api, api, stripe, dynamo_proxy):
    """All mutations at once: faults are scoped to each case's org, so DYNAMO_PARALLEL cases
    (discovery runs included) share the proxied stack side by side."""
    with ThreadPoolExecutor(max_workers=DYNAMO_PARALLEL) as pool:
        all_steps = list(pool.map(lambda m: dynamo_steps(proxied_api, api, stripe, dynamo_proxy, m), MUTATIONS))
        cases = []
        for number, (mutation, steps) in enumerate(zip(MUTATIONS, all_steps)):
            assert steps, f"{mutation.name} made no DynamoDB call"
            for index, (operation, table) in enumerate(steps):
                kinds = DYNAMO_KINDS if FULL_MATRIX else [DYNAMO_KINDS[(number + index) % len(DYNAMO_KINDS)]]
                if operation in WRITES:
                    kinds = [*kinds, "ccf"]
                cases += [(mutation, operation, table, kind) for kind in kinds]
        results = pool.map(lambda c: dynamo_case(proxied_api, api, stripe, dynamo_proxy, *c), cases)
        failures = [f for result in results for f in result]
    assert not failures, failures


def test_a_hung_dynamodb_call_fails_fast_as_store_unavailable(proxied_api, dynamo_proxy):
    """DynamoDB holds the read with no answer, longer than the function's SDK timeouts (3 s per
    attempt, 8 s per operation): the caller gets the 503 envelope well inside the function's 25 s,
    not a gateway timeout."""
    org_id = new_org_id()
    hold_s = 20.0
    dynamo_proxy.arm("GetItem", "*", "timeout", hold_s=hold_s, scope=org_id)
    started = time.monotonic()
    try:
        response = proxied_api.get_customer(mint_token(org_id, "owner"))
    finally:
        dynamo_proxy.clear(scope=org_id)
    elapsed = time.monotonic() - started
    problem = check_envelope(response, 503, "store_unavailable")
    LEDGER.record("dynamodb faults", f"GetItem hung {hold_s:.0f} s: answered {response.status_code} "
                  f"in {elapsed:.1f} s", problem is None and elapsed < 12, problem or "")
    assert problem is None, problem
    assert elapsed < 12, f"answered after {elapsed:.1f} s"
