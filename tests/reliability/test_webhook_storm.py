"""A webhook storm: real state changes across many orgs while their events are being delivered,
each event 3 times, up to 8 deliveries at once with random delays. Every copy the API shows, read
during the storm, must be a state Stripe's subscription really had and never older than one shown
before; at the end every org's copy equals Stripe, each event was applied by exactly one delivery
(the others answered "duplicate"), its id is recorded once, and a further redelivery of every
event is acknowledged as a duplicate."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import requests
from rel import HTTP_TIMEOUT_S, LEDGER, SCALE, eventually
from stacklib import aws_client, mint_token
from test_concurrency import subscribed_org

ORGS = 12 * SCALE
EVENTS = 500 * SCALE
COPIES = 3
PLANS = ("starter_monthly", "pro_monthly", "pro_yearly")
# What a copy shows of the subscription; a state is these values, in this order.
COMPARED = ("id", "status", "plan", "quantity", "cancel_at_period_end", "current_period_end")
STORM_MODE = {"duplicate": COPIES, "concurrency": 8, "jitter_ms": 250, "retry_backoff_ms": 100, "max_attempts": 6}
# Changes pause while this many deliveries wait, so deliveries keep up with them (interleaved).
BACKLOG = 60


def plan_of(subscription: dict) -> str:
    return subscription["items"]["data"][0]["price"]["lookup_key"]


def state_of(subscription: dict) -> tuple:
    item = subscription["items"]["data"][0]
    return (subscription["id"], subscription["status"], plan_of(subscription), item["quantity"],
            subscription["cancel_at_period_end"], item["current_period_end"])


def change(stripe, subscription_id: str, rng: random.Random, prices: dict[str, str], quantity: int) -> dict | None:
    """One real change made directly in Stripe (as in the Dashboard); returns the subscription
    after it. An item change sets `quantity`, fresh each time, so states rarely repeat and an older
    copy cannot pass for a newer one."""
    current = stripe.v1("GET", f"/v1/subscriptions/{subscription_id}")
    if current["status"] == "canceled":
        return None
    roll = rng.random()
    if roll < 0.4:
        flag = "false" if current["cancel_at_period_end"] else "true"
        return stripe.v1("POST", f"/v1/subscriptions/{subscription_id}", data={"cancel_at_period_end": flag})
    plan = rng.choice([p for p in PLANS[:2] if p != plan_of(current)])  # same interval: no cycle reset
    item = current["items"]["data"][0]
    data = {"items[0][id]": item["id"], "items[0][price]": prices[plan], "items[0][quantity]": str(quantity)}
    if roll < 0.8:
        data["proration_behavior"] = "none"
    elif roll < 0.9:
        data["proration_behavior"] = "create_prorations"
    else:
        data["proration_behavior"] = "always_invoice"
    return stripe.v1("POST", f"/v1/subscriptions/{subscription_id}", data=data)


class History:
    """Every state each subscription had, in order, and what the API showed of it so far."""

    def __init__(self, orgs, stripe):
        self.states = {sub["id"]: [state_of(stripe.v1("GET", f"/v1/subscriptions/{sub['id']}"))]
                       for _, sub, _ in orgs}
        self.floor = dict.fromkeys(self.states, 0)  # the oldest state the copy may still show
        self.reads = 0
        self.torn: list = []
        self.regressions: list = []

    def add(self, subscription: dict) -> None:
        self.states[subscription["id"]].append(state_of(subscription))

    def check(self, api, org_id: str, subscription_id: str) -> None:
        """A copy read mid-storm must be one of the states Stripe had, and not older than the
        oldest the previous reads allow (newer-wins): when it matches several, any will do."""
        copy = api.get_customer(mint_token(org_id, "viewer")).json().get("subscription") or {}
        shown = tuple(copy.get(key) for key in COMPARED)
        matches = [i for i, state in enumerate(self.states[subscription_id]) if state == shown]
        self.reads += 1
        if not matches:
            self.torn.append((org_id, shown))
        elif max(matches) < self.floor[subscription_id]:
            self.regressions.append((org_id, shown, self.floor[subscription_id], matches))
        else:
            self.floor[subscription_id] = max(self.floor[subscription_id], min(matches))


def copy_mismatches(api, stripe, orgs) -> list[tuple[str, dict, dict]]:
    """Orgs whose copy (GET /billing/customer) differs from the subscription Stripe holds."""
    mismatches = []

    def compare(org):
        org_id, subscription, _ = org
        expected = state_of(stripe.v1("GET", f"/v1/subscriptions/{subscription['id']}"))
        copy = api.get_customer(mint_token(org_id, "viewer")).json().get("subscription") or {}
        got = tuple(copy.get(key) for key in COMPARED)  # the record's copy has no period start
        if got != expected:
            mismatches.append((org_id, dict(zip(COMPARED, expected)), dict(zip(COMPARED, got))))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(compare, orgs))
    return mismatches


def sign(secret: str, payload: bytes) -> str:
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def test_500_events_delivered_during_the_changes_concurrently_3_times_end_equal_to_stripe(
    api, stack, stripe, dynamodb, tables, template
):
    rng = random.Random(8)
    with ThreadPoolExecutor(max_workers=4) as pool:
        orgs = list(pool.map(lambda _: subscribed_org(api, stripe), range(ORGS)))
    prices = {plan: stripe.price_id(plan) for plan in PLANS}
    # Deliveries of the setup must be over before the storm starts: wait for the queue to drain.
    assert eventually(lambda: all(d["status"] in ("delivered", "failed") for d in stripe.deliveries()), 60)
    first_delivery = len(stripe.deliveries())
    refetches_before = stripe.requests_by_route().get("GET /v1/subscriptions/:id", 0)
    history = History(orgs, stripe)

    def waiting(log):
        return sum(d["status"] == "pending" and d["attempts"] == 0 for d in log)

    stripe.webhook_mode(**STORM_MODE)
    started = time.monotonic()
    try:
        changes = 0
        while True:
            log = stripe.deliveries()[first_delivery:]
            if len(log) >= EVENTS * COPIES:
                break
            if waiting(log) > BACKLOG:
                # Intermediate reads while deliveries catch up.
                org_id, subscription, _ = rng.choice(orgs)
                history.check(api, org_id, subscription["id"])
                continue
            changed = []
            for _ in range(5):
                org_id, subscription, _ = rng.choice(orgs)
                changes += 1
                after = change(stripe, subscription["id"], rng, prices, quantity=changes % 97 + 1)
                if after:
                    history.add(after)
                    changed.append((org_id, subscription["id"]))
            # The orgs just changed are the ones whose copies are moving now.
            for org_id, subscription_id in changed:
                history.check(api, org_id, subscription_id)
        answered_during_changes = sum(d["status"] == "delivered" for d in stripe.deliveries()[first_delivery:])

        def storm_done():
            log = stripe.deliveries()[first_delivery:]
            return log if all(d["status"] in ("delivered", "failed") for d in log) else None

        log = eventually(storm_done, 300, 0.5)
    finally:
        stripe.webhook_mode(duplicate=1, concurrency=1, jitter_ms=0, retry_backoff_ms=200, max_attempts=4)
    seconds = time.monotonic() - started
    assert log, "deliveries still pending after 300 s"
    event_ids = sorted({d["event_id"] for d in log})
    copies = Counter(d["event_id"] for d in log)
    bad = [d for d in log if d["response_status"] != 200]
    types = Counter(d["type"] for d in log if d["copy"] == 1)
    refetches = stripe.requests_by_route().get("GET /v1/subscriptions/:id", 0) - refetches_before
    in_progress = sum(d["attempts"] > 1 for d in log)
    # Which deliveries applied each event (outcome "applied" or "ignored"): exactly one may.
    outcomes_by_event: dict[str, Counter] = {}
    for d in log:
        outcome = json.loads(d["response_body"])["outcome"] if d["response_status"] == 200 else "failed"
        outcomes_by_event.setdefault(d["event_id"], Counter())[outcome] += 1
    applied_twice = [e for e, seen in outcomes_by_event.items() if seen["applied"] + seen["ignored"] > 1]
    never_applied = [e for e, seen in outcomes_by_event.items() if seen["applied"] + seen["ignored"] == 0]

    # 1. every org's copy equals Stripe's subscription
    mismatches = copy_mismatches(api, stripe, orgs)

    # 2. the processed-events table holds each event id exactly once
    recorded = Counter()
    for start in range(0, len(event_ids), 100):
        keys = [{"event_id": {"S": e}} for e in event_ids[start : start + 100]]
        pending = {tables["events"]: {"Keys": keys, "ConsistentRead": True}}
        while pending:
            answer = dynamodb.batch_get_item(RequestItems=pending)
            for item in answer["Responses"].get(tables["events"], []):
                if item.get("state", {}).get("S") == "done":
                    recorded[item["event_id"]["S"]] += 1
            pending = answer.get("UnprocessedKeys") or {}
    missing = [e for e in event_ids if recorded[e] != 1]

    # 3. one more delivery of every event (signed like Stripe signs) is acknowledged as a duplicate
    secret_name = template.parameters["StripeSecretName"]
    whsec = json.loads(aws_client("secretsmanager", stack.moto).get_secret_value(SecretId=secret_name)["SecretString"])[
        "webhook_secret"
    ]
    session = requests.Session()

    wanted = set(event_ids)
    events = {e["id"]: e for e in stripe.list_all("/v1/events") if e["id"] in wanted}
    assert set(events) == wanted, f"{len(wanted - set(events))} events not listed by the fake"

    def redeliver(event_id):
        payload = json.dumps(events[event_id]).encode()
        response = session.post(
            f"{api.base_url}/billing/webhooks/stripe",
            data=payload,
            headers={"Stripe-Signature": sign(whsec, payload), "Content-Type": "application/json"},
            timeout=HTTP_TIMEOUT_S,
        )
        return response.status_code, (response.json() if response.status_code == 200 else response.text)

    with ThreadPoolExecutor(max_workers=4) as pool:
        replays = list(pool.map(redeliver, event_ids))
    outcomes = Counter(body["outcome"] if status == 200 else f"HTTP {status}" for status, body in replays)

    ok_copies = all(copies[e] == COPIES for e in event_ids)
    label = f"{len(event_ids)} events x{COPIES}, 8 at once, during the changes"
    LEDGER.record("webhooks", f"{label}: copies equal Stripe", not mismatches, f"{len(mismatches)} of {ORGS} orgs differ")
    LEDGER.record("webhooks", f"{history.reads} reads mid-storm: each a real state, never older",
                  not history.torn and not history.regressions,
                  f"{len(history.torn)} not a state Stripe had, {len(history.regressions)} older than shown before")
    LEDGER.record("webhooks", "every delivery answered 200 in the end", not bad, f"{len(bad)} non-200")
    LEDGER.record("webhooks", "each event applied by exactly one delivery", not applied_twice and not never_applied,
                  f"{len(applied_twice)} applied twice, {len(never_applied)} never")
    LEDGER.record("webhooks", "each event id recorded once, done", not missing, f"{len(missing)} missing/duplicated")
    LEDGER.record("webhooks", "4th delivery of every event is 'duplicate'", set(outcomes) == {"duplicate"},
                  str(dict(outcomes)))
    LEDGER.record("webhooks", f"each event delivered {COPIES}x", ok_copies)
    LEDGER.figure(
        f"webhook storm: {changes} Stripe changes on {ORGS} subscriptions -> {len(event_ids)} events "
        f"({dict(types.most_common(6))}), {len(log)} deliveries (8 at once, 0-250 ms delays), "
        f"{answered_during_changes} answered before the last change; all done in {seconds:.1f}s; "
        f"{in_progress} needed a retry (409 event_in_progress while a copy was applied, or transient); "
        f"{history.reads} copies read mid-storm, {len(history.torn)} not a real state, "
        f"{len(history.regressions)} older than one shown before; {refetches} subscription re-fetches; "
        f"{len(applied_twice)} events applied twice; {len(event_ids) - len(missing)}/{len(event_ids)} ids recorded "
        f"once; redelivery outcomes {dict(outcomes)}; {len(mismatches)}/{ORGS} copies differ from Stripe"
    )
    assert len(event_ids) >= EVENTS
    assert ok_copies
    assert answered_during_changes >= len(log) // 4, "deliveries must interleave with the changes"
    assert not bad, bad[:3]
    assert not history.torn, history.torn[:3]
    assert not history.regressions, history.regressions[:3]
    assert not applied_twice, [(e, outcomes_by_event[e]) for e in applied_twice[:3]]
    assert not never_applied, never_applied[:3]
    assert not mismatches, mismatches[:3]
    assert not missing, missing[:5]
    assert set(outcomes) == {"duplicate"}, outcomes


def test_a_rate_limited_storm_recovers_through_backoff_and_stripe_redelivery(api, stripe):
    """Stripe's limiter answers 429 to the webhook's re-fetches: the function backs off, answers
    503 when its retries are spent (never 500, never half-written), and Stripe's redelivery
    completes the sync; every copy ends equal to Stripe."""
    rng = random.Random(29)
    orgs = [subscribed_org(api, stripe) for _ in range(3)]
    prices = {plan: stripe.price_id(plan) for plan in PLANS}
    assert eventually(lambda: all(d["status"] in ("delivered", "failed") for d in stripe.deliveries()), 60)
    first_delivery = len(stripe.deliveries())
    stripe.webhook_mode(pause=True, max_attempts=10, retry_backoff_ms=100)
    try:
        for n in range(12):
            _, subscription, _ = rng.choice(orgs)
            change(stripe, subscription["id"], rng, prices, quantity=n % 3 + 1)
        # Armed after the changes: from here on only the function calls /v1 until the deliveries end.
        # A call that succeeds met at most 2 (its 3rd attempt went through, so none were left): with
        # 3 per delivery (+3 for a container's first catalogue read) the deliveries cannot all get
        # through on their own retries, so at least one spends all 3 attempts on 429s, answers 503
        # and is redelivered — and every 429 is consumed by the time all are delivered.
        held = len(stripe.deliveries()) - first_delivery
        rate_limited = 3 * held + 3
        stripe.fault("*", "status", status=429, times=rate_limited)
        stripe.flush()
        stripe.webhook_mode(pause=False)

        def done():
            log = stripe.deliveries()[first_delivery:]
            return log if log and all(d["status"] in ("delivered", "failed") for d in log) else None

        log = eventually(done, 120, 0.5)
        left = stripe.control("GET", "/faults")["data"]
    finally:
        stripe.clear_faults()
        stripe.webhook_mode(max_attempts=4, retry_backoff_ms=200, pause=False)
    assert log, "deliveries still pending after 120 s"
    failed = [d for d in log if d["status"] != "delivered" or d["response_status"] != 200]
    redelivered = [d for d in log if d["attempts"] > 1]
    mismatches = copy_mismatches(api, stripe, orgs)
    LEDGER.record("webhooks", f"{rate_limited} Stripe 429s under a storm: all delivered in the end",
                  not failed and not mismatches, f"{len(failed)} failed, {len(mismatches)} copies differ")
    LEDGER.figure(
        f"rate-limited storm: {len(log)} deliveries, {rate_limited} re-fetches answered 429, "
        f"{len(redelivered)} deliveries needed Stripe's redelivery (max attempts "
        f"{max(d['attempts'] for d in log)}), {len(failed)} failed, {len(mismatches)}/{len(orgs)} copies differ"
    )
    assert not left, f"the 429s were not all consumed: {left}"
    assert not failed, failed[:3]
    assert redelivered, "some delivery must have spent its retries on 429s and been redelivered"
    assert not mismatches, mismatches[:3]
