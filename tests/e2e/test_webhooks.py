"""Stripe webhooks over the local stack: a change made directly in the fake Stripe (as in the
Dashboard) reaches DynamoDB; duplicated and reordered deliveries converge on Stripe's state; a
forged event changes nothing."""

import json
import os
import time

import pytest
import requests
from stacklib import mint_token
from support import HTTP_TIMEOUT_S, STRIPE_SECRET_KEY, assert_error, eventually, new_org_id
from test_subscriptions import subscribed

SECRET_KEY = {"Authorization": f"Bearer {STRIPE_SECRET_KEY}"}


@pytest.fixture(autouse=True)
def _earlier_deliveries_done(request):
    """Earlier modules leave deliveries queued (bulk card attaches, clock deletions, renewals):
    the fake sends them one at a time, so this module's events would wait behind them and its
    15 s waits would measure the backlog instead of the handler."""
    if not os.environ.get("E2E_EXTERNAL_STRIPE"):
        request.getfixturevalue("stripe_fake").settle_webhooks(timeout_s=120)


def owner(org_id):
    return mint_token(org_id, "owner")


def stripe_post(stack, path, data):
    response = requests.post(f"{stack.stripe}{path}", data=data, headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S)
    assert response.status_code == 200, response.text
    return response.json()


def synced(api, org_id):
    return api.get_customer(owner(org_id)).json()["subscription"]


@pytest.mark.needs_webhooks
def test_a_change_made_in_stripe_reaches_the_record(api, stack):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    stripe_post(stack, f"/v1/subscriptions/{subscription['id']}", {"cancel_at_period_end": "true"})
    eventually(lambda: synced(api, org_id)["cancel_at_period_end"] is True)


@pytest.mark.fake_only
def test_duplicated_and_shuffled_deliveries_end_equal_to_stripe(api, stack):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    prices = requests.get(
        f"{stack.stripe}/v1/prices", params={"lookup_keys[]": "pro_monthly"}, headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S
    ).json()["data"]
    mode = f"{stack.stripe}/_fake/webhooks/mode"
    requests.post(mode, json={"duplicate": 3, "shuffle": True}, timeout=HTTP_TIMEOUT_S)
    try:
        item = subscription_item(stack, subscription["id"])
        stripe_post(
            stack,
            f"/v1/subscriptions/{subscription['id']}",
            {"items[0][id]": item, "items[0][price]": prices[0]["id"], "proration_behavior": "none"},
        )
        stripe_post(stack, f"/v1/subscriptions/{subscription['id']}", {"cancel_at_period_end": "true"})
        stripe_post(stack, f"/v1/subscriptions/{subscription['id']}", {"cancel_at_period_end": "false"})
        requests.post(f"{stack.stripe}/_fake/webhooks/flush", timeout=HTTP_TIMEOUT_S)
    finally:
        requests.post(mode, json={"duplicate": 1, "shuffle": False}, timeout=HTTP_TIMEOUT_S)
    truth = requests.get(
        f"{stack.stripe}/v1/subscriptions/{subscription['id']}", headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S
    ).json()

    def converged():
        copy = synced(api, org_id)
        return copy["plan"] == "pro_monthly" and copy["cancel_at_period_end"] == truth["cancel_at_period_end"]

    eventually(converged)
    copy = synced(api, org_id)
    assert (copy["id"], copy["status"], copy["quantity"]) == (truth["id"], truth["status"], 1)
    deliveries = requests.get(f"{stack.stripe}/_fake/webhooks/deliveries", timeout=HTTP_TIMEOUT_S).json()["data"]
    ours = [d for d in deliveries if d.get("response_status") is not None]
    assert ours and all(d["response_status"] == 200 for d in ours), ours[-5:]


@pytest.mark.fake_only
def test_a_failed_refetch_is_503_unrecorded_and_stripes_redelivery_applies_it(api, stack, dynamodb, template):
    """Stripe down during the handler's re-fetch: the delivery answers 503 and the event id is not
    recorded, so Stripe's next attempt (here, the fake's retry) applies it."""
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    fake = f"{stack.stripe}/_fake"
    events_table = template.parameters["WebhookEventsTableName"]
    requests.post(f"{fake}/webhooks/mode", json={"max_attempts": 10, "retry_backoff_ms": 300}, timeout=HTTP_TIMEOUT_S)
    refetch = {"route": "GET /v1/subscriptions", "kind": "status", "status": 500}
    requests.post(f"{fake}/faults", json=refetch, timeout=HTTP_TIMEOUT_S).raise_for_status()
    try:
        stripe_post(stack, f"/v1/subscriptions/{subscription['id']}", {"cancel_at_period_end": "true"})
        events = requests.get(
            f"{stack.stripe}/v1/events", params={"type": "customer.subscription.updated", "limit": 100},
            headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S,
        ).json()["data"]
        event_id = next(e["id"] for e in events if e["data"]["object"]["id"] == subscription["id"])

        def refused():
            deliveries = requests.get(f"{fake}/webhooks/deliveries", timeout=HTTP_TIMEOUT_S).json()["data"]
            return [d for d in deliveries if d["event_id"] == event_id and d["response_status"] == 503]

        eventually(refused)
        recorded = dynamodb.get_item(TableName=events_table, Key={"event_id": {"S": event_id}}, ConsistentRead=True)
        assert "Item" not in recorded, "a failed event must not be recorded as processed"
        assert synced(api, org_id)["cancel_at_period_end"] is False
    finally:
        requests.delete(f"{fake}/faults", timeout=HTTP_TIMEOUT_S)
    def recorded():
        item = dynamodb.get_item(TableName=events_table, Key={"event_id": {"S": event_id}}, ConsistentRead=True)
        return "Item" in item

    try:
        # Another event of the org retried at the same time may sync the copy first: wait for
        # this event's own redelivery to be applied and recorded.
        eventually(recorded)
        assert synced(api, org_id)["cancel_at_period_end"] is True
    finally:
        requests.post(f"{fake}/webhooks/mode", json={"max_attempts": 4, "retry_backoff_ms": 200}, timeout=HTTP_TIMEOUT_S)


@pytest.mark.needs_webhooks
def test_a_customer_deleted_in_stripe_is_unlinked_and_replaced_on_the_next_ensure(api, stack):
    org_id = new_org_id()
    subscribed(api, stack, org_id)
    deleted = api.get_customer(owner(org_id)).json()["stripe_customer_id"]
    response = requests.delete(f"{stack.stripe}/v1/customers/{deleted}", headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S)
    assert response.json()["deleted"] is True

    eventually(lambda: api.get_customer(owner(org_id)).status_code == 404)
    assert_error(api.get_customer(owner(org_id)), 404, "customer_not_found")
    assert_error(api.request("GET", "/billing/subscription", owner(org_id)), 404, "subscription_not_found")
    assert api.request("GET", "/billing/payment-methods", owner(org_id)).json() == {"payment_methods": []}

    relinked = api.ensure_customer(owner(org_id))
    assert relinked.status_code == 201, relinked.text
    replacement = relinked.json()["stripe_customer_id"]
    assert replacement != deleted
    again = api.ensure_customer(owner(org_id))
    assert (again.status_code, again.json()["stripe_customer_id"]) == (200, replacement)
    assert api.get_customer(owner(org_id)).json()["subscription"] is None


def subscription_item(stack, subscription_id):
    subscription = requests.get(
        f"{stack.stripe}/v1/subscriptions/{subscription_id}", headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S
    ).json()
    return subscription["items"]["data"][0]["id"]


def test_a_forged_event_is_refused_and_changes_nothing(api, stack):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    before = synced(api, org_id)
    forged = {
        "id": "evt_forged",
        "object": "event",
        "type": "customer.subscription.deleted",
        "created": int(time.time()),
        "data": {"object": {"object": "subscription", "id": subscription["id"], "status": "canceled"}},
    }
    for signature in [None, "t=1,v1=deadbeef", f"t={int(time.time())},v1={'0' * 64}"]:
        headers = {"Stripe-Signature": signature} if signature else {}
        response = requests.post(
            f"{stack.api}/billing/webhooks/stripe", json=forged, headers=headers, timeout=HTTP_TIMEOUT_S
        )
        assert_error(response, 400, "invalid_signature")
    assert synced(api, org_id) == before


def test_the_replay_command_delivers_a_fixture_directory(stack):
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        ["scripts/replay-events", "tests/fixtures/stripe-events", "--api", stack.api, "--moto", stack.moto,
         "--times", "3", "--shuffle"],
        cwd=root, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 passed, 0 failed" in result.stdout
    assert result.stdout.count('"duplicate"') == 6


@pytest.mark.fake_only
def test_the_endpoint_script_pins_the_api_version_and_the_handled_events(stack):
    """scripts/stripe-webhook-endpoint (the deploy runbook's step) against the fake Stripe."""
    import subprocess

    from stacklib import LOCAL_HOST, REPO_ROOT

    result = subprocess.run(
        [str(REPO_ROOT / "scripts" / "stripe-webhook-endpoint"), f"http://{LOCAL_HOST}:9/billing/webhooks/stripe"],
        env={**os.environ, "STRIPE_API_KEY": STRIPE_SECRET_KEY, "STRIPE_API_BASE": stack.stripe},
        capture_output=True,
        text=True,
        timeout=HTTP_TIMEOUT_S,
        check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    endpoint = json.loads(result.stdout)
    try:
        assert endpoint["api_version"] == "2026-09-30.endive"
        assert endpoint["secret"].startswith("whsec_")
        events = set(endpoint["enabled_events"])
        for handled in ("customer.deleted", "customer.subscription.updated", "invoice.paid", "subscription_schedule.released"):
            assert handled in events, handled
    finally:
        requests.delete(f"{stack.stripe}/v1/webhook_endpoints/{endpoint['id']}", headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S)
