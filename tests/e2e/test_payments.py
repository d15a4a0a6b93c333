"""Payments that fail or need authentication during a plan change that charges now: the change is
a Stripe pending update, so a declined card never gets the upgrade, an authentication step is
handed to the browser, and paying the open invoice later applies the change."""

import pytest
import requests
from stacklib import mint_token
from support import HTTP_TIMEOUT_S, STRIPE_SECRET_KEY, add_card, assert_error, eventually, new_org_id
from test_subscriptions import stripe_get, subscribed

SECRET_KEY = {"Authorization": f"Bearer {STRIPE_SECRET_KEY}"}
UPGRADE_NOW = {"plan": "pro_monthly", "timing": "immediate", "proration_behavior": "always_invoice"}


def owner(org_id):
    return mint_token(org_id, "owner")


def with_default_card(api, stack, org_id, token: str) -> str:
    """Attaches a Stripe test card server-side (as Stripe allows for test tokens) and makes it the
    org's default through the API (which also sets the subscription's own default)."""
    customer = api.get_customer(owner(org_id)).json()["stripe_customer_id"]
    attached = requests.post(
        f"{stack.stripe}/v1/payment_methods/{token}/attach",
        data={"customer": customer},
        headers=SECRET_KEY,
        timeout=HTTP_TIMEOUT_S,
    )
    assert attached.status_code == 200, attached.text
    card = attached.json()["id"]
    response = api.request("PUT", "/billing/payment-methods/default", owner(org_id), json={"payment_method_id": card})
    assert response.status_code == 200, response.text
    return customer


def stripe_side(stack, subscription_id: str, customer: str) -> tuple[dict, list[dict]]:
    subscription = stripe_get(stack, f"/v1/subscriptions/{subscription_id}")
    invoices = stripe_get(stack, "/v1/invoices", customer=customer, limit=100)["data"]
    return subscription, invoices


def test_a_declined_upgrade_keeps_the_old_plan_and_waits_for_payment(api, stack):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    customer = with_default_card(api, stack, org_id, "pm_card_chargeCustomerFail")
    _, invoices_before = stripe_side(stack, subscription["id"], customer)

    response = api.request("POST", "/billing/subscription/plan-change", owner(org_id), json=UPGRADE_NOW)
    error = assert_error(response, 402, "payment_failed")
    assert error["decline_code"] == "generic_decline", error

    truth, invoices = stripe_side(stack, subscription["id"], customer)
    assert [i["price"]["lookup_key"] for i in truth["items"]["data"]] == ["starter_monthly"], "no upgrade given"
    assert truth["status"] == "active"
    assert truth["pending_update"]["subscription_items"][0]["price"]["lookup_key"] == "pro_monthly"
    new_invoices = invoices[: len(invoices) - len(invoices_before)]
    assert [i["status"] for i in new_invoices] == ["open"], "exactly one open invoice"

    shown = api.request("GET", "/billing/subscription", mint_token(org_id, "viewer")).json()
    assert shown["plan"] == "starter_monthly"
    pending = shown["pending_payment"]
    assert pending["plan"] == "pro_monthly" and pending["quantity"] == 1, shown
    assert pending["invoice_id"] == new_invoices[0]["id"]
    assert pending["expires_at"] == truth["pending_update"]["expires_at"]
    assert shown["open_invoice"]["id"] == pending["invoice_id"], "the invoice to pay is named"
    assert shown["open_invoice"]["next_payment_attempt"] is None, "Stripe does not retry a change's invoice"

    # Another change while this one waits for payment is refused, naming the reason.
    again = api.request("POST", "/billing/subscription/plan-change", owner(org_id),
                        json={**UPGRADE_NOW, "plan": "pro_yearly"})
    assert_error(again, 409, "payment_pending")


@pytest.mark.fake_only
def test_paying_the_open_invoice_later_applies_the_upgrade(api, stack):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    with_default_card(api, stack, org_id, "pm_card_chargeCustomerFail")
    response = api.request("POST", "/billing/subscription/plan-change", owner(org_id), json=UPGRADE_NOW)
    assert_error(response, 402, "payment_failed")
    invoice = api.request("GET", "/billing/subscription", owner(org_id)).json()["pending_payment"]["invoice_id"]
    # The customer pays it with another card (as on Stripe's hosted invoice page).
    paid = requests.post(f"{stack.stripe}/_fake/invoices/{invoice}/pay", json={"payment_method": "pm_card_visa"},
                         timeout=HTTP_TIMEOUT_S)
    assert paid.status_code == 200, paid.text
    assert stripe_get(stack, f"/v1/subscriptions/{subscription['id']}")["pending_update"] is None

    def upgraded():
        shown = api.request("GET", "/billing/subscription", owner(org_id)).json()
        return shown if shown["plan"] == "pro_monthly" and shown["pending_payment"] is None else None

    eventually(upgraded, seconds=30)


@pytest.mark.fake_only
def test_an_upgrade_that_needs_authentication_hands_the_browser_a_client_secret(api, stack):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    customer = with_default_card(api, stack, org_id, "pm_card_authenticationRequired")

    response = api.request("POST", "/billing/subscription/plan-change", owner(org_id), json=UPGRADE_NOW)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["requires_action"] is True and body["client_secret"].startswith("pi_"), body
    assert body["plan"] == "starter_monthly" and body["pending_payment"]["plan"] == "pro_monthly", body
    truth, _ = stripe_side(stack, subscription["id"], customer)
    assert truth["items"]["data"][0]["price"]["lookup_key"] == "starter_monthly"

    # The browser completes 3D Secure (Stripe.js against Stripe; the fake's challenge here).
    intent = body["client_secret"].split("_secret_")[0]
    done = requests.post(f"{stack.stripe}/_fake/payment_intents/{intent}/authenticate", json={}, timeout=HTTP_TIMEOUT_S)
    assert done.status_code == 200, done.text

    def upgraded():
        shown = api.request("GET", "/billing/subscription", owner(org_id)).json()
        return shown if shown["plan"] == "pro_monthly" and shown["pending_payment"] is None else None

    eventually(upgraded, seconds=30)
    assert stripe_get(stack, f"/v1/subscriptions/{subscription['id']}")["items"]["data"][0]["price"][
        "lookup_key"] == "pro_monthly"


def test_a_change_that_charges_now_and_is_paid_answers_without_an_action(api, stack):
    org_id = new_org_id()
    subscribed(api, stack, org_id)
    response = api.request("POST", "/billing/subscription/plan-change", owner(org_id), json=UPGRADE_NOW)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["plan"] == "pro_monthly" and body["requires_action"] is False and body["client_secret"] is None
    assert body["pending_payment"] is None
    assert (body["payment_state"], body["access"]) == ("ok", {"decision": "full", "grace_until": None})


def test_a_start_whose_first_payment_is_declined_is_402_and_paying_its_invoice_activates_it(api, stack):
    org_id = new_org_id()
    customer = api.request("POST", "/billing/customer", owner(org_id), json={}).json()["stripe_customer_id"]
    attached = requests.post(f"{stack.stripe}/v1/payment_methods/pm_card_chargeCustomerFail/attach",
                             data={"customer": customer}, headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S)
    card = attached.json()["id"]
    assert api.request("PUT", "/billing/payment-methods/default", owner(org_id),
                       json={"payment_method_id": card}).status_code == 200
    response = api.request("POST", "/billing/subscription", owner(org_id), json={"plan": "starter_monthly"})
    assert_error(response, 402, "payment_failed")
    shown = api.request("GET", "/billing/subscription", owner(org_id)).json()
    assert shown["status"] == "incomplete", shown
    assert (shown["payment_state"], shown["access"]["decision"]) == ("action_required", "blocked"), shown
    # Recover: another card as the default, then pay the first invoice.
    good = add_card(api, stack, org_id)
    assert api.request("PUT", "/billing/payment-methods/default", owner(org_id),
                       json={"payment_method_id": good}).status_code == 200
    invoice = api.request("GET", "/billing/invoices", owner(org_id)).json()["invoices"][0]
    assert invoice["status"] == "open"
    paid = api.request("POST", f"/billing/invoices/{invoice['id']}/pay", owner(org_id))
    assert paid.status_code == 200 and paid.json()["invoice"]["status"] == "paid", paid.text
    eventually(lambda: api.request("GET", "/billing/subscription", owner(org_id)).json()["status"] == "active", seconds=30)


@pytest.mark.fake_only
def test_a_start_that_needs_authentication_hands_the_browser_the_first_payment(api, stack):
    org_id = new_org_id()
    assert api.request("POST", "/billing/customer", owner(org_id), json={}).status_code in (200, 201)
    with_default_card(api, stack, org_id, "pm_card_authenticationRequired")

    response = api.request("POST", "/billing/subscription", owner(org_id), json={"plan": "starter_monthly"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["requires_payment"] is True and body["client_secret"].startswith("pi_"), body
    started = body["subscription"]
    assert (started["status"], started["payment_state"]) == ("incomplete", "action_required"), started
    first = started["open_invoice"]
    assert first["amount_due"] == 1000 and first["next_payment_attempt"] is None, "it waits for the customer"
    intent = body["client_secret"].split("_secret_")[0]
    assert stripe_get(stack, f"/v1/payment_intents/{intent}")["status"] == "requires_action"

    # The browser completes 3D Secure (Stripe.js against Stripe; the fake's challenge here).
    done = requests.post(f"{stack.stripe}/_fake/payment_intents/{intent}/authenticate", json={}, timeout=HTTP_TIMEOUT_S)
    assert done.status_code == 200, done.text
    shown = api.request("GET", "/billing/subscription", owner(org_id)).json()
    assert (shown["status"], shown["payment_state"], shown["open_invoice"]) == ("active", "ok", None), shown
    assert stripe_get(stack, f"/v1/invoices/{first['id']}")["status"] == "paid"
