"""Billing state for the security tests: an org set up through the API and the fake Stripe, its
state as a comparable snapshot, and the fake's count of Stripe mutations."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import requests
from stacklib import DEV_STRIPE_API_KEY, mint_token
from support import HTTP_TIMEOUT_S, StripeFake, new_org_id


def fake_get(stack: StackUrls, path: str) -> dict:
    response = requests.get(stack.stripe + path, timeout=HTTP_TIMEOUT_S)
    response.raise_for_status()
    return response.json()


@dataclass
class Org:
    org_id: str
    customer_id: str
    cards: list[str]
    owner: str = field(repr=False, default="")


def settle_webhooks(stack, timeout_s: float = 20) -> None:
    StripeFake(stack.stripe).settle_webhooks(timeout_s)


def wait_for_quiet_logs(log_dir, quiet_s: float = 0.6, timeout_s: float = 15) -> None:
    """Waits until no service log under `log_dir` has grown for `quiet_s` (the last lines are
    flushed), instead of guessing with a fixed sleep."""
    def sizes():
        return {p: p.stat().st_size for p in log_dir.rglob("*.log")}

    deadline = time.monotonic() + timeout_s
    last, quiet_since = sizes(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = sizes()
        if now != last:
            last, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet_s:
            return
    raise AssertionError(f"logs under {log_dir} still growing after {timeout_s} s")


def prepare_org(http: requests.Session, stack, *, subscription: bool, cards: int = 3) -> Org:
    org_id = new_org_id()
    owner = mint_token(org_id, "owner")
    auth = {"Authorization": f"Bearer {owner}"}
    created = http.post(f"{stack.api}/billing/customer", json={}, headers=auth, timeout=HTTP_TIMEOUT_S)
    assert created.status_code == 201, created.text
    customer_id = created.json()["stripe_customer_id"]
    added = requests.post(
        f"{stack.stripe}/_fake/customers/{customer_id}/payment_methods",
        json={"token": "pm_card_visa", "count": cards},
        timeout=HTTP_TIMEOUT_S,
    )
    assert added.status_code == 200, added.text
    card_ids = [pm["id"] for pm in added.json()["data"]]
    default = http.put(
        f"{stack.api}/billing/payment-methods/default",
        json={"payment_method_id": card_ids[0]},
        headers=auth,
        timeout=HTTP_TIMEOUT_S,
    )
    assert default.status_code == 200, default.text
    if subscription:
        started = http.post(
            f"{stack.api}/billing/subscription", json={"plan": "starter_monthly"}, headers=auth, timeout=HTTP_TIMEOUT_S
        )
        assert started.status_code == 201, started.text
    return Org(org_id, customer_id, card_ids, owner)


def snapshot(stack, customers_table, org: Org) -> dict:
    """The org's billing state as Stripe (the fake) and DynamoDB hold it."""
    settle_webhooks(stack)
    customers = [
        (c["id"], bool(c.get("deleted")), (c.get("invoice_settings") or {}).get("default_payment_method"))
        for c in fake_get(stack, "/_fake/customers")["data"]
        if (c.get("metadata") or {}).get("org_id") == org.org_id
    ]
    cards = sorted(
        (pm["id"], pm.get("customer"), pm["_fake"]["detached"])
        for pm in fake_get(stack, "/_fake/payment_methods")["data"]
        if pm["id"] in org.cards or pm.get("customer") == org.customer_id
    )
    subscriptions = requests.get(
        f"{stack.stripe}/v1/subscriptions",
        params={"customer": org.customer_id, "status": "all"},
        headers={"Authorization": f"Bearer {DEV_STRIPE_API_KEY}"},
        timeout=HTTP_TIMEOUT_S,
    ).json()["data"]
    subs = sorted(
        (s["id"], s["status"], s["cancel_at_period_end"], s.get("schedule"), s.get("default_payment_method"))
        for s in subscriptions
    )
    return {"customers": customers, "cards": cards, "subscriptions": subs, "record": customers_table(org.org_id)}


def stripe_mutations(stack) -> int:
    """Non-GET requests the fake Stripe has received (reads are not state changes)."""
    by_route = fake_get(stack, "/_fake/requests")["by_route"]
    return sum(count for route, count in by_route.items() if not route.startswith("GET "))


