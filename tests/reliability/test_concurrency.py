"""Races from several OS processes: concurrent first ensures make one Stripe customer and one
record; concurrent starts make one subscription; concurrent plan changes under one
Idempotency-Key make one change, charged what its two proration lines add up to."""

from __future__ import annotations

import multiprocessing
import time
from collections import Counter

import pytest

from rel import LEDGER, SCALE, fire, new_org_id, percentile
from stacklib import mint_token

PROCESSES = 4
# 100 concurrent calls per org: with 4 debug-build instances the last answers come after ~20 s,
# so more per org would meet the gateway's 30 s timeout; RELIABILITY_SCALE=N races N orgs in turn.
ENSURE_CALLS = 100
ENSURE_RACES = SCALE
PLAN_CHANGE_CALLS = 20 * SCALE
START_CALLS = 20 * SCALE


def race(url: str, method: str, token: str, calls: int, json=None, headers=None) -> list[dict]:
    """`calls` requests from PROCESSES processes x several threads, all released at one instant."""
    per_process = [calls // PROCESSES + (1 if i < calls % PROCESSES else 0) for i in range(PROCESSES)]
    start_at = time.time() + 2.0  # every process and thread is up before the first request
    jobs = [
        {
            "url": url,
            "method": method,
            "token": token,
            "json": json,
            "headers": headers or {},
            "calls": n,
            "threads": n,
            "start_at": start_at,
        }
        for n in per_process
    ]
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        results = [r for batch in pool.map(fire, jobs) for r in batch]
    assert len({r["pid"] for r in results}) == PROCESSES
    return results


def summarize(results: list[dict]) -> str:
    seconds = [r["seconds"] for r in results]
    statuses = Counter(r["status"] for r in results)
    return (
        f"statuses {dict(sorted(statuses.items(), key=str))}, latency p50 {percentile(seconds, 0.5):.2f}s "
        f"p95 {percentile(seconds, 0.95):.2f}s max {max(seconds):.2f}s"
    )


@pytest.mark.parametrize("race_number", range(1, ENSURE_RACES + 1))
def test_concurrent_first_ensures_make_one_customer_and_one_record(api, stripe, dynamodb, tables, race_number):
    org_id = new_org_id("org_rel_race")
    started = time.monotonic()
    results = race(f"{api.base_url}/billing/customer", "POST", mint_token(org_id, "owner"), ENSURE_CALLS, json={})
    wall = time.monotonic() - started

    problems = [r for r in results if r["status"] not in (200, 201) or r.get("contract_error")]
    ids = {r["body"]["stripe_customer_id"] for r in results if r["status"] in (200, 201)}
    created = sum(1 for r in results if r["status"] == 201)
    customers = stripe.customers_of_org(org_id)
    records = dynamodb.scan(
        TableName=tables["customers"],
        FilterExpression="org_id = :o",
        ExpressionAttributeValues={":o": {"S": org_id}},
        ConsistentRead=True,
    )["Items"]
    by_customer = dynamodb.query(
        TableName=tables["customers"],
        IndexName="by_stripe_customer_id",
        KeyConditionExpression="stripe_customer_id = :c",
        ExpressionAttributeValues={":c": {"S": customers[0]["id"] if customers else "none"}},
    )["Items"]

    ok = not problems and len(ids) == 1 and len(customers) == 1 and len(records) == 1 and len(by_customer) == 1
    LEDGER.record("concurrency", f"{ENSURE_CALLS} concurrent ensures, one org", ok)
    LEDGER.figure(
        f"ensure race: {ENSURE_CALLS} calls from {PROCESSES} processes x ~{ENSURE_CALLS // PROCESSES} threads "
        f"in {wall:.1f}s -> {len(customers)} Stripe customer(s), {len(records)} DynamoDB record(s), "
        f"{created} answered 201, {len(ids)} distinct customer id(s); {summarize(results)}"
    )
    assert not problems, problems[:3]
    assert created == 1, f"{created} answers said 201 created"
    assert len(ids) == 1 and len(customers) == 1, (ids, [c["id"] for c in customers])
    assert ids == {customers[0]["id"]}
    assert len(records) == 1 and records[0]["stripe_customer_id"]["S"] == customers[0]["id"]
    assert len(by_customer) == 1


def org_with_card(api, stripe) -> tuple[str, str]:
    """An org with a customer and a default card (attached in the fake)."""
    org_id = new_org_id("org_rel_sub")
    token = mint_token(org_id, "owner")
    customer = api.ensure_customer(token, json={}).json()["stripe_customer_id"]
    card = stripe.control("POST", f"/customers/{customer}/payment_methods", json={"token": "pm_card_visa"})["data"][0]
    response = api.request("PUT", "/billing/payment-methods/default", token, json={"payment_method_id": card["id"]})
    assert response.status_code == 200, response.text
    return org_id, customer


@pytest.mark.parametrize("same_key", [True, False], ids=["one-idempotency-key", "no-key"])
def test_concurrent_starts_make_one_subscription(api, stripe, same_key):
    org_id, customer = org_with_card(api, stripe)
    headers = {"Idempotency-Key": f"start-{org_id}"} if same_key else None
    results = race(
        f"{api.base_url}/billing/subscription", "POST", mint_token(org_id, "owner"), START_CALLS,
        json={"plan": "starter_monthly"}, headers=headers,
    )
    statuses = Counter(r["status"] for r in results)
    subscriptions = stripe.list_all("/v1/subscriptions", customer=customer, status="all")
    invoices = stripe.invoices_of(customer)
    started = {r["body"]["subscription"]["id"] for r in results if r["status"] == 201}
    # A start's Stripe key is the org's start count, not the client's key: calls that find the
    # one start already recorded are told it exists (409), the others answer it (201).
    allowed = {201, 409}
    ok = len(subscriptions) == 1 and len(invoices) == 1 and set(statuses) <= allowed and len(started) == 1
    label = "one Idempotency-Key" if same_key else "no Idempotency-Key"
    LEDGER.record("concurrency", f"{START_CALLS} concurrent starts, {label}", ok, f"statuses {dict(statuses)}")
    LEDGER.figure(
        f"start race ({label}): {START_CALLS} calls -> {len(subscriptions)} subscription(s), "
        f"{len(invoices)} invoice(s); {summarize(results)}"
    )
    assert len(subscriptions) == 1, f"{len(subscriptions)} subscriptions: {[s['id'] for s in subscriptions]}"
    assert len(invoices) == 1, f"{len(invoices)} first invoices: charged more than once"
    assert set(statuses) <= allowed, dict(statuses)
    assert started == {subscriptions[0]["id"]}, started
    conflicts = [r["body"]["error"]["code"] for r in results if r["status"] == 409]
    assert set(conflicts) <= {"subscription_exists"}, conflicts


def subscribed_org(api, stripe) -> tuple[str, dict, str]:
    """An org with a default card (attached in the fake) and an active starter_monthly subscription."""
    org_id, customer = org_with_card(api, stripe)
    token = mint_token(org_id, "owner")
    response = api.request("POST", "/billing/subscription", token, json={"plan": "starter_monthly"})
    assert response.status_code == 201, response.text
    return org_id, response.json()["subscription"], customer


def test_concurrent_plan_changes_with_one_idempotency_key_make_one_change(api, stripe):
    org_id, subscription, customer = subscribed_org(api, stripe)
    invoices_before = len(stripe.invoices_of(customer))
    items_before = len(stripe.list_all("/v1/invoiceitems", customer=customer))
    updates_before = stripe.requests_by_route().get("POST /v1/subscriptions/:id", 0)
    body = {"plan": "pro_monthly", "timing": "immediate", "proration_behavior": "always_invoice"}
    results = race(
        f"{api.base_url}/billing/subscription/plan-change",
        "POST",
        mint_token(org_id, "owner"),
        PLAN_CHANGE_CALLS,
        json=body,
        headers={"Idempotency-Key": f"plan-change-{org_id}"},
    )
    statuses = Counter(r["status"] for r in results)
    contract_errors = [r["contract_error"] for r in results if r.get("contract_error")]
    truth = stripe.v1("GET", f"/v1/subscriptions/{subscription['id']}")
    invoices = stripe.invoices_of(customer)
    items = stripe.list_all("/v1/invoiceitems", customer=customer)
    updates = stripe.requests_by_route().get("POST /v1/subscriptions/:id", 0) - updates_before
    new_invoices = len(invoices) - invoices_before
    charged = sum(i["amount_paid"] for i in invoices[: max(new_invoices, 0)])
    unexpected = {s: n for s, n in statuses.items() if s != 200}

    ok = (
        new_invoices == 1
        and len(items) - items_before == 2
        and truth["items"]["data"][0]["price"]["lookup_key"] == "pro_monthly"
        and not contract_errors
        and not unexpected
        and statuses[200] >= 1
    )
    LEDGER.record("concurrency", f"{PLAN_CHANGE_CALLS} concurrent plan changes, one Idempotency-Key", ok,
                  f"statuses {dict(statuses)}, {new_invoices} change invoice(s)")
    LEDGER.figure(
        f"plan-change race: {PLAN_CHANGE_CALLS} calls, one Idempotency-Key, {PROCESSES} processes -> "
        f"{new_invoices} change invoice(s) ({charged} cents charged), {len(items) - items_before} proration items, "
        f"{updates} POST /v1/subscriptions/:id at Stripe (replays included); {summarize(results)}"
    )
    assert not contract_errors, contract_errors[:3]
    assert truth["items"]["data"][0]["price"]["lookup_key"] == "pro_monthly"
    assert new_invoices == 1, f"{new_invoices} change invoices: charged more than once"
    assert len(items) - items_before == 2, "one credit + one debit expected"
    # What was charged is the two proration lines (credit on 1000, debit on 3000 for the same
    # remaining fraction: the debit is 3x the credit, give or take each line's rounding).
    credit, debit = sorted(i["amount"] for i in items[: len(items) - items_before])
    assert charged == credit + debit, (charged, credit, debit)
    assert credit < 0 < debit and abs(debit + 3 * credit) <= 2, (credit, debit)
    assert not unexpected, f"answers other than 200: {unexpected}; e.g. {[r['body'] for r in results if r['status'] != 200][:2]}"
    assert all(r["body"]["plan"] == "pro_monthly" for r in results if r["status"] == 200)
