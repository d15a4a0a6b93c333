"""Flows that once passed here and failed on real Stripe (issue 19): the fake now refuses and bills
as Stripe does (tests/stripe-fake/README.md, "Refusals"), and the product goes the way Stripe
requires — cancelling through the schedule, period-end previews from the schedule, trials kept in
schedule phases, a subscription's own card moved before it is detached."""

import pytest
import requests
from stacklib import mint_token
from support import HTTP_TIMEOUT_S, STRIPE_SECRET_KEY, add_card, assert_error, new_org_id
from test_subscriptions import stripe_get, subscribed

PRICES = {"starter_monthly": 1000, "pro_monthly": 3000, "pro_yearly": 30000}


def owner(org_id):
    return mint_token(org_id, "owner")


def schedule_change(api, org_id, plan):
    response = api.request(
        "POST", "/billing/subscription/plan-change", owner(org_id), json={"plan": plan, "timing": "period_end"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def stripe_subscription(stack, subscription_id):
    return stripe_get(stack, f"/v1/subscriptions/{subscription_id}")


def invoices_of(stack, subscription_id):
    return stripe_get(stack, "/v1/invoices", subscription=subscription_id, limit=100)["data"]


def test_cancelling_with_a_pending_period_end_change_withdraws_it(api, stack):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id, plan="pro_monthly")
    pending = schedule_change(api, org_id, "starter_monthly")
    assert pending["scheduled_change"]["plan"] == "starter_monthly"
    assert stripe_subscription(stack, subscription["id"])["schedule"], "the schedule owns the change"

    cancelled = api.request("POST", "/billing/subscription/cancel", owner(org_id), json={"at_period_end": True})
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["cancel_at_period_end"] is True and body["scheduled_change"] is None, body
    on_stripe = stripe_subscription(stack, subscription["id"])
    assert on_stripe["schedule"] is None and on_stripe["cancel_at_period_end"] is True, on_stripe

    # While it is set to end, a period-end change (and its preview) says to resume first.
    assert_error(
        api.request(
            "POST", "/billing/subscription/plan-change", owner(org_id), json={"plan": "starter_monthly", "timing": "period_end"}
        ),
        409,
        "cancellation_pending",
    )
    assert_error(
        api.request(
            "POST", "/billing/invoice-preview", owner(org_id), json={"plan": "starter_monthly", "timing": "period_end"}
        ),
        409,
        "cancellation_pending",
    )
    resumed = api.request("POST", "/billing/subscription/resume", owner(org_id))
    assert resumed.status_code == 200, resumed.text
    assert resumed.json()["cancel_at_period_end"] is False
    assert stripe_subscription(stack, subscription["id"])["cancel_at_period_end"] is False
    again = schedule_change(api, org_id, "starter_monthly")
    assert again["scheduled_change"]["plan"] == "starter_monthly"


def test_the_fake_refuses_a_direct_cancellation_on_a_scheduled_subscription(api, stack):
    """What the product used to send, answered as Stripe answers it (so the test above means it)."""
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id, plan="pro_monthly")
    schedule_change(api, org_id, "starter_monthly")
    refused = requests.post(
        f"{stack.stripe}/v1/subscriptions/{subscription['id']}",
        data={"cancel_at_period_end": "true"},
        headers={"Authorization": f"Bearer {STRIPE_SECRET_KEY}"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert "managed by the subscription schedule" in error["message"], error


@pytest.mark.parametrize(
    "current,new",
    [("pro_monthly", "pro_yearly"), ("pro_yearly", "starter_monthly"), ("pro_monthly", "starter_monthly")],
)
def test_a_period_end_preview_bills_the_new_plan_on_that_date_with_nothing_due_now(api, stack, stripe, current, new):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id, plan=current)
    before = len(invoices_of(stack, subscription["id"]))
    preview = api.request(
        "POST", "/billing/invoice-preview", mint_token(org_id, "viewer"), json={"plan": new, "timing": "period_end"}
    )
    assert preview.status_code == 200, preview.text
    preview = preview.json()
    assert preview["proration_date"] is None
    assert [line["proration"] for line in preview["lines"]] == [False], preview
    (line,) = preview["lines"]
    assert line["amount"] == PRICES[new], preview
    assert line["period_start"] == subscription["current_period_end"], "billed from the period end, not now"
    assert preview["total"] == preview["amount_due"] == PRICES[new], preview
    assert len(invoices_of(stack, subscription["id"])) == before, "a preview creates no invoice"

    if current == "pro_monthly" and new == "pro_yearly":
        # The change itself: nothing billed now, and at the boundary exactly what was previewed.
        schedule_change(api, org_id, new)
        assert len(invoices_of(stack, subscription["id"])) == before
        stripe.advance_clock_to(org_id, subscription["current_period_end"] + 60)
        renewal = invoices_of(stack, subscription["id"])[0]
        assert renewal["total"] == preview["total"] and renewal["status"] == "paid", renewal
        assert renewal["lines"]["data"][0]["period"]["start"] == subscription["current_period_end"]
        after = api.request("GET", "/billing/subscription", owner(org_id)).json()
        assert after["plan"] == new and after["status"] == "active", after


def test_a_trialing_subscription_stays_in_its_trial_when_a_change_is_scheduled(api, stack, stripe):
    org_id = new_org_id()
    card = add_card(api, stack, org_id)
    api.request("PUT", "/billing/payment-methods/default", owner(org_id), json={"payment_method_id": card})
    started = api.request(
        "POST", "/billing/subscription", owner(org_id), json={"plan": "starter_monthly", "trial_days": 14}
    )
    assert started.status_code == 201, started.text
    subscription = started.json()["subscription"]
    assert subscription["status"] == "trialing", subscription
    trial_end = subscription["current_period_end"]

    scheduled = schedule_change(api, org_id, "pro_yearly")
    assert scheduled["status"] == "trialing", scheduled
    assert scheduled["scheduled_change"]["effective_at"] == trial_end
    on_stripe = stripe_subscription(stack, subscription["id"])
    assert on_stripe["status"] == "trialing" and on_stripe["trial_end"] == trial_end, on_stripe
    charged = [i for i in invoices_of(stack, subscription["id"]) if i["amount_due"] > 0]
    assert charged == [], "nothing is charged before the trial ends"

    stripe.advance_clock_to(org_id, trial_end + 60)
    after = api.request("GET", "/billing/subscription", owner(org_id)).json()
    assert (after["plan"], after["status"]) == ("pro_yearly", "active"), after
    first_paid = [i for i in invoices_of(stack, subscription["id"]) if i["amount_due"] > 0]
    assert [(i["total"], i["status"]) for i in first_paid] == [(PRICES["pro_yearly"], "paid")], first_paid
    assert first_paid[0]["lines"]["data"][0]["period"]["start"] == trial_end


def test_detaching_the_subscriptions_own_card_moves_the_renewal_to_a_remaining_card(api, stack, stripe):
    org_id = new_org_id()
    card_a = add_card(api, stack, org_id)
    card_b = add_card(api, stack, org_id, "pm_card_mastercard")
    api.request("PUT", "/billing/payment-methods/default", owner(org_id), json={"payment_method_id": card_b})
    started = api.request(
        "POST", "/billing/subscription", owner(org_id), json={"plan": "starter_monthly", "payment_method_id": card_a}
    )
    assert started.status_code == 201, started.text
    subscription = started.json()["subscription"]
    assert stripe_subscription(stack, subscription["id"])["default_payment_method"] == card_a

    detached = api.request("DELETE", f"/billing/payment-methods/{card_a}", owner(org_id))
    assert detached.status_code == 200, detached.text
    assert detached.json() == {"detached": card_a, "default_payment_method": card_b}
    assert stripe_subscription(stack, subscription["id"])["default_payment_method"] == card_b

    stripe.advance_clock_to(org_id, subscription["current_period_end"] + 60)
    renewal = invoices_of(stack, subscription["id"])[0]
    assert renewal["status"] == "paid", renewal
    assert api.request("GET", "/billing/subscription", owner(org_id)).json()["status"] == "active"
