"""A renewal whose card is declined: the subscription goes past due with a grace period and the open
invoice's next retry; a new default card is used by Stripe's retries (set-default also sets the
subscription's own default) or pays the invoice at once; and when the retries are over, the
subscription ends as the account's setting says (each of the fake's readings)."""

import pytest
import requests
from stacklib import mint_token
from support import HTTP_TIMEOUT_S, add_card, eventually, new_org_id
from test_subscriptions import stripe_get

DAY = 86_400
GRACE_DAYS = 7  # BILLING_PAST_DUE_GRACE_DAYS' default, which the e2e stack keeps


def owner(org_id):
    return mint_token(org_id, "owner")


def make_default(api, org_id, card) -> dict:
    response = api.request("PUT", "/billing/payment-methods/default", owner(org_id), json={"payment_method_id": card})
    assert response.status_code == 200, response.text
    return response.json()


def shown(api, org_id) -> dict:
    response = api.request("GET", "/billing/subscription", mint_token(org_id, "viewer"))
    assert response.status_code == 200, response.text
    return response.json()


def synced(api, org_id, status: str) -> None:
    """Waits for the webhooks to bring the DynamoDB copy (`GET /billing/customer`) to `status`.
    Earlier modules can leave a queue of deliveries ahead of this org's (the fake sends them one
    at a time), hence the long wait."""
    eventually(lambda: api.get_customer(owner(org_id)).json()["subscription"]["status"] == status, seconds=120)


def failed_renewal(api, stack, stripe, org_id) -> tuple[dict, dict]:
    """An active subscription whose default card declines, moved past its renewal. Returns the
    subscription as started and as shown after the renewal.

    It starts with a card of its own (Stripe's subscription `default_payment_method`, which wins
    over the customer's), so only a set-default that updates the subscription too reaches
    Stripe's renewal and retries."""
    first = add_card(api, stack, org_id)
    response = api.request("POST", "/billing/subscription", owner(org_id),
                           json={"plan": "starter_monthly", "payment_method_id": first})
    assert response.status_code == 201, response.text
    started = response.json()["subscription"]
    assert stripe_get(stack, f"/v1/subscriptions/{started['id']}")["default_payment_method"] == first
    make_default(api, org_id, add_card(api, stack, org_id, "pm_card_chargeCustomerFail"))
    stripe.advance_clock_to(org_id, started["current_period_end"] + 60)
    return started, shown(api, org_id)


@pytest.mark.needs_webhooks
def test_a_declined_renewal_is_past_due_in_grace_and_paying_with_a_new_card_makes_it_active(api, stack, stripe):
    org_id = new_org_id()
    started, past_due = failed_renewal(api, stack, stripe, org_id)
    renewal = started["current_period_end"]

    assert past_due["status"] == "past_due", past_due
    assert past_due["payment_state"] == "past_due"
    assert past_due["current_period_start"] == renewal, "the period moved on; its invoice is unpaid"
    # Grace runs from the failed renewal. (The decision itself compares with real time; the org's
    # test clock is ahead of it, so only `grace_until` is meaningful here.)
    assert past_due["access"] == {"decision": "grace", "grace_until": renewal + GRACE_DAYS * DAY}, past_due
    invoice = past_due["open_invoice"]
    stripes = stripe_get(stack, f"/v1/invoices/{invoice['id']}")
    assert (stripes["status"], stripes["billing_reason"]) == ("open", "subscription_cycle")
    assert invoice["amount_due"] == stripes["amount_due"] == 1000 and invoice["currency"] == "usd", invoice
    assert invoice["next_payment_attempt"] == stripes["next_payment_attempt"] == renewal + DAY, invoice
    assert (invoice["number"], invoice["hosted_invoice_url"]) == (stripes["number"], stripes["hosted_invoice_url"])
    # The webhooks bring the copy in DynamoDB along.
    synced(api, org_id, "past_due")

    # Recover: a new card as the default (Stripe's subscription default too), then pay now.
    good = add_card(api, stack, org_id, "pm_card_mastercard")
    offered = make_default(api, org_id, good)["open_invoice"]
    assert offered == invoice, "set-default offers the invoice the new card can pay now"
    assert stripe_get(stack, f"/v1/subscriptions/{started['id']}")["default_payment_method"] == good
    paid = api.request("POST", f"/billing/invoices/{invoice['id']}/pay", owner(org_id))
    assert paid.status_code == 200, paid.text
    assert paid.json()["invoice"]["status"] == "paid"

    recovered = shown(api, org_id)
    assert (recovered["status"], recovered["payment_state"]) == ("active", "ok"), recovered
    assert recovered["access"] == {"decision": "full", "grace_until": None}
    assert recovered["open_invoice"] is None
    synced(api, org_id, "active")


def test_stripes_next_retry_charges_the_card_made_default_after_the_failure(api, stack, stripe):
    org_id = new_org_id()
    started, past_due = failed_renewal(api, stack, stripe, org_id)
    make_default(api, org_id, add_card(api, stack, org_id, "pm_card_mastercard"))

    stripe.advance_clock_to(org_id, past_due["open_invoice"]["next_payment_attempt"] + 60)
    recovered = shown(api, org_id)
    assert (recovered["status"], recovered["open_invoice"]) == ("active", None), recovered
    invoice = stripe_get(stack, f"/v1/invoices/{past_due['open_invoice']['id']}")
    assert (invoice["status"], invoice["attempt_count"]) == ("paid", 2), "the first retry paid it"


@pytest.fixture
def behaviours(stack):
    """Sets fake switches for one test and restores what they were (the variant pass's too)."""
    url = f"{stack.stripe}/_fake/behaviours"
    before = requests.get(url, timeout=HTTP_TIMEOUT_S).json()
    changed: set[str] = set()

    def switch(**values):
        changed.update(values)
        response = requests.post(url, json=values, timeout=HTTP_TIMEOUT_S)
        assert response.status_code == 200, response.text

    yield switch
    if changed:
        switch(**{name: before[name] for name in changed})


@pytest.mark.fake_only
@pytest.mark.needs_webhooks
@pytest.mark.parametrize(
    ("after_last_retry", "status", "payment_state"),
    [("cancel", "canceled", "ok"), ("unpaid", "unpaid", "unpaid"), ("past_due", "past_due", "past_due")],
)
def test_when_the_retries_are_over_the_answer_follows_the_accounts_setting(
    api, stack, stripe, behaviours, after_last_retry, status, payment_state
):
    """Stripe's end of dunning is an account setting (cancel, mark unpaid, leave past due); the
    product must read each one right. Retries are shortened to one, a day after the failure."""
    behaviours(after_last_retry=after_last_retry, retry_schedule_days=[1])
    org_id = new_org_id()
    _, past_due = failed_renewal(api, stack, stripe, org_id)
    invoice = past_due["open_invoice"]
    stripe.advance_clock_to(org_id, invoice["next_payment_attempt"] + 60)

    over = shown(api, org_id)
    assert (over["status"], over["payment_state"]) == (status, payment_state), over
    if status == "past_due":
        # Still past due, but Stripe plans no more attempts: the app must send the customer to pay.
        assert over["open_invoice"]["id"] == invoice["id"]
        assert over["open_invoice"]["next_payment_attempt"] is None, over
        assert over["access"]["decision"] == "grace"
    else:
        assert over["access"] == {"decision": "blocked", "grace_until": None}, over
    synced(api, org_id, status)
