"""Idempotency-Key: the same key with a different request is 409 `idempotency_conflict` on every
route where a request can differ; keys are scoped per org, so two orgs using one key never get
each other's result."""

import pytest
import requests
from stacklib import mint_token
from support import APP, HTTP_TIMEOUT_S, STRIPE_SECRET_KEY, add_card, assert_error, new_org_id
from test_subscriptions import subscribed


def owner(org_id):
    return mint_token(org_id, "owner")


def keyed(api, org_id, method, path, key, body=None):
    kwargs = {"headers": {"Idempotency-Key": key}}
    if body is not None:
        kwargs["json"] = body
    return api.request(method, path, owner(org_id), **kwargs)


def two_cards(api, stack, org_id):
    return add_card(api, stack, org_id), add_card(api, stack, org_id, "pm_card_mastercard")


# A start's key is the org's own (its start count), so a second start is `subscription_exists`
# whatever the client's key; cancel and resume take no body that could differ.
CASES = ["set default", "detach", "portal", "plan change"]


@pytest.mark.parametrize("case", CASES)
def test_the_same_key_with_another_request_is_idempotency_conflict(api, stack, case):
    org_id = new_org_id()
    key = f"conflict-{org_id}"
    if case == "set default":
        a, b = two_cards(api, stack, org_id)
        first = keyed(api, org_id, "PUT", "/billing/payment-methods/default", key, {"payment_method_id": a})
        second = keyed(api, org_id, "PUT", "/billing/payment-methods/default", key, {"payment_method_id": b})
    elif case == "detach":
        a, b = two_cards(api, stack, org_id)
        first = keyed(api, org_id, "DELETE", f"/billing/payment-methods/{a}", key)
        second = keyed(api, org_id, "DELETE", f"/billing/payment-methods/{b}", key)
    elif case == "portal":
        first = keyed(api, org_id, "POST", "/billing/portal-session", key, {"return_url": f"{APP}/billing"})
        second = keyed(api, org_id, "POST", "/billing/portal-session", key, {"return_url": f"{APP}/settings"})
    else:
        subscribed(api, stack, org_id)
        change = {"timing": "immediate", "proration_behavior": "none"}
        first = keyed(api, org_id, "POST", "/billing/subscription/plan-change", key, {"plan": "pro_monthly", **change})
        second = keyed(api, org_id, "POST", "/billing/subscription/plan-change", key, {"plan": "pro_yearly", **change})
    assert first.status_code in (200, 201), first.text
    assert_error(second, 409, "idempotency_conflict")


def test_one_key_in_two_orgs_gives_each_its_own_result(api, stack):
    """Two orgs send the same client key on routes where it reaches Stripe (set default, portal)
    and on a start: each gets its own result, never the other's and never a conflict."""
    key = f"shared-client-key-{new_org_id()}"
    results = []
    for _ in range(2):
        org_id = new_org_id()
        card = add_card(api, stack, org_id)
        default = keyed(api, org_id, "PUT", "/billing/payment-methods/default", key, {"payment_method_id": card})
        assert default.status_code == 200, default.text
        listed = api.request("GET", "/billing/payment-methods", owner(org_id)).json()["payment_methods"]
        assert [m["id"] for m in listed if m["is_default"]] == [card], listed
        portal = keyed(api, org_id, "POST", "/billing/portal-session", key, {"return_url": f"{APP}/billing"})
        assert portal.status_code == 201, portal.text
        started = keyed(api, org_id, "POST", "/billing/subscription", key, {"plan": "starter_monthly"})
        assert started.status_code == 201, started.text
        subscription = started.json()["subscription"]
        on_stripe = requests.get(
            f"{stack.stripe}/v1/subscriptions/{subscription['id']}",
            headers={"Authorization": f"Bearer {STRIPE_SECRET_KEY}"},
            timeout=HTTP_TIMEOUT_S,
        ).json()
        customer = api.get_customer(owner(org_id)).json()["stripe_customer_id"]
        assert on_stripe["customer"] == customer, "the answer is this org's own subscription"
        results.append((card, portal.json()["url"], subscription["id"]))
    for mine, theirs in zip(results[0], results[1]):
        assert mine != theirs
