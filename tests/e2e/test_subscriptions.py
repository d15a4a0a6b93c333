"""Plans, subscriptions, plan changes and invoice previews over the local stack: what a preview
shows is what the change charges; period-end changes wait for the org's test clock; roles; bad input."""

import pytest
import requests
from stacklib import mint_token
from support import HTTP_TIMEOUT_S, STRIPE_SECRET_KEY, add_card, assert_error, new_org_id


def owner(org_id):
    return mint_token(org_id, "owner")


def subscribed(api, stack, org_id, plan="starter_monthly"):
    """An org with a default card and an active subscription."""
    card = add_card(api, stack, org_id)
    api.request("PUT", "/billing/payment-methods/default", owner(org_id), json={"payment_method_id": card})
    response = api.request("POST", "/billing/subscription", owner(org_id), json={"plan": plan})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["subscription"]["status"] == "active" and body["requires_payment"] is False, body
    return body["subscription"]


def stripe_get(stack, path, **params):
    response = requests.get(
        f"{stack.stripe}{path}",
        params=params,
        headers={"Authorization": f"Bearer {STRIPE_SECRET_KEY}"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_plans_are_listed_for_every_role(api):
    response = api.request("GET", "/billing/plans", mint_token(new_org_id(), "viewer"))
    assert response.status_code == 200, response.text
    plans = {p["plan"]: p for p in response.json()["plans"]}
    assert set(plans) == {"starter_monthly", "pro_monthly", "pro_yearly"}
    assert plans["pro_monthly"]["amount"] == 3000 and plans["pro_monthly"]["currency"] == "usd"
    assert plans["pro_yearly"]["interval"] == "year"


def test_start_reuses_the_customer_and_a_second_start_is_refused(api, stack, stripe):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    assert subscription["plan"] == "starter_monthly"
    assert subscription["current_period_end"] > subscription["current_period_start"]
    assert len(stripe.customers_of_org(org_id)) == 1
    again = api.request("POST", "/billing/subscription", owner(org_id), json={"plan": "pro_monthly"})
    assert_error(again, 409, "subscription_exists")
    read = api.request("GET", "/billing/subscription", mint_token(org_id, "viewer"))
    assert read.status_code == 200 and read.json()["id"] == subscription["id"]
    synced = api.get_customer(owner(org_id)).json()["subscription"]
    assert synced["id"] == subscription["id"] and synced["plan"] == "starter_monthly"


def test_a_start_without_a_card_returns_the_payment_to_confirm(api):
    response = api.request("POST", "/billing/subscription", owner(new_org_id()), json={"plan": "pro_monthly"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["subscription"]["status"] == "incomplete"
    assert body["requires_payment"] is True and body["client_secret"]
    # Nothing to change or preview until the first payment is made.
    assert body["subscription"]["can_change_plan"] is False
    assert body["subscription"]["has_upcoming_invoice"] is False


@pytest.mark.parametrize("behavior", ["always_invoice", "create_prorations"])
def test_an_immediate_change_charges_exactly_what_the_preview_showed(api, stack, behavior):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    preview = api.request(
        "POST",
        "/billing/invoice-preview",
        mint_token(org_id, "viewer"),
        json={"plan": "pro_monthly", "timing": "immediate", "proration_behavior": behavior},
    )
    assert preview.status_code == 200, preview.text
    preview = preview.json()
    assert preview["proration_date"] is not None
    prorations = [line for line in preview["lines"] if line["proration"]]
    assert prorations, preview
    change = api.request(
        "POST",
        "/billing/subscription/plan-change",
        owner(org_id),
        json={
            "plan": "pro_monthly",
            "timing": "immediate",
            "proration_behavior": behavior,
            "proration_date": preview["proration_date"],
        },
    )
    assert change.status_code == 200, change.text
    assert change.json()["plan"] == "pro_monthly"
    if behavior == "always_invoice":
        invoices = stripe_get(stack, "/v1/invoices", subscription=subscription["id"], limit=1)["data"]
        assert invoices[0]["total"] == preview["total"], (invoices[0], preview)
    else:
        upcoming = api.request("POST", "/billing/invoice-preview", owner(org_id)).json()
        assert upcoming["total"] == preview["total"], (upcoming, preview)


def test_a_period_end_change_waits_for_the_period_end(api, stack, stripe):
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id, plan="pro_monthly")
    scheduled = api.request(
        "POST", "/billing/subscription/plan-change", owner(org_id), json={"plan": "starter_monthly", "timing": "period_end"}
    )
    assert scheduled.status_code == 200, scheduled.text
    body = scheduled.json()
    assert body["plan"] == "pro_monthly", "unchanged until the period ends"
    assert body["scheduled_change"]["plan"] == "starter_monthly"
    assert body["scheduled_change"]["effective_at"] == subscription["current_period_end"]
    read = api.request("GET", "/billing/subscription", mint_token(org_id, "viewer")).json()
    assert read["plan"] == "pro_monthly" and read["scheduled_change"]["plan"] == "starter_monthly"

    stripe.advance_clock_to(org_id, subscription["current_period_end"] + 60)
    after = api.request("GET", "/billing/subscription", owner(org_id)).json()
    assert after["plan"] == "starter_monthly", after


def test_a_pending_change_can_be_withdrawn(api, stack):
    org_id = new_org_id()
    subscribed(api, stack, org_id, plan="pro_monthly")
    api.request(
        "POST", "/billing/subscription/plan-change", owner(org_id), json={"plan": "starter_monthly", "timing": "period_end"}
    )
    withdrawn = api.request(
        "POST", "/billing/subscription/plan-change", owner(org_id), json={"plan": "pro_monthly", "timing": "period_end"}
    )
    assert withdrawn.status_code == 200, withdrawn.text
    assert withdrawn.json()["scheduled_change"] is None


def test_cancel_at_period_end_and_resume(api, stack):
    org_id = new_org_id()
    subscribed(api, stack, org_id)
    active = api.request("GET", "/billing/subscription", mint_token(org_id, "viewer")).json()
    assert active["can_change_plan"] is True and active["has_upcoming_invoice"] is True
    cancelled = api.request("POST", "/billing/subscription/cancel", owner(org_id), json={"at_period_end": True})
    assert cancelled.status_code == 200 and cancelled.json()["cancel_at_period_end"] is True
    assert cancelled.json()["status"] == "active"
    # Still changeable (resume, a plan change) but no further invoice is coming.
    assert cancelled.json()["can_change_plan"] is True and cancelled.json()["has_upcoming_invoice"] is False
    assert_error(
        api.request("POST", "/billing/subscription/cancel", owner(org_id), json={"at_period_end": False}),
        400,
        "invalid_request",
    )
    resumed = api.request("POST", "/billing/subscription/resume", owner(org_id))
    assert resumed.status_code == 200 and resumed.json()["cancel_at_period_end"] is False
    assert resumed.json()["has_upcoming_invoice"] is True


@pytest.mark.parametrize(
    "path,body",
    [
        ("/billing/subscription", {"plan": "starter_monthly"}),
        ("/billing/subscription/plan-change", {"plan": "pro_monthly", "timing": "immediate"}),
        ("/billing/subscription/cancel", {"at_period_end": True}),
        ("/billing/subscription/resume", None),
    ],
)
def test_viewers_cannot_change_subscriptions(api, path, body):
    assert_error(api.request("POST", path, mint_token(new_org_id(), "viewer"), json=body), 403, "forbidden")


def test_bad_subscription_requests_get_stable_codes(api, stack):
    org_id = new_org_id()
    token = owner(org_id)
    assert_error(api.request("GET", "/billing/subscription", token), 404, "subscription_not_found")
    assert_error(api.request("POST", "/billing/invoice-preview", token), 404, "subscription_not_found")
    assert_error(
        api.request("POST", "/billing/subscription/plan-change", token, json={"plan": "pro_monthly", "timing": "immediate"}),
        404,
        "subscription_not_found",
    )
    assert_error(api.request("POST", "/billing/subscription", token, json={"plan": "gold"}), 400, "unknown_plan")
    assert_error(api.request("POST", "/billing/subscription", token, json={"plan": "price_123abc"}), 400, "unknown_plan")
    assert_error(api.request("POST", "/billing/subscription", token, json={}), 400, "invalid_request")
    subscribed(api, stack, org_id)
    same = {"plan": "starter_monthly", "timing": "immediate"}
    assert_error(api.request("POST", "/billing/subscription/plan-change", token, json=same), 409, "plan_unchanged")
    stale = {"plan": "pro_monthly", "timing": "immediate", "proration_date": 1}
    assert_error(api.request("POST", "/billing/subscription/plan-change", token, json=stale), 400, "invalid_proration_date")
    bad_timing = {"plan": "pro_monthly", "timing": "tomorrow"}
    assert_error(api.request("POST", "/billing/subscription/plan-change", token, json=bad_timing), 400, "invalid_request")


def test_the_only_card_of_an_active_subscription_cannot_be_removed(api, stack):
    org_id = new_org_id()
    subscribed(api, stack, org_id)
    (card,) = api.request("GET", "/billing/payment-methods", owner(org_id)).json()["payment_methods"]
    refused = api.request("DELETE", f"/billing/payment-methods/{card['id']}", owner(org_id))
    assert_error(refused, 409, "default_payment_method_required")
    second = add_card(api, stack, org_id, "pm_card_mastercard")
    removed = api.request("DELETE", f"/billing/payment-methods/{card['id']}", owner(org_id))
    assert removed.status_code == 200, removed.text
    assert removed.json()["default_payment_method"] == second


def test_an_older_copy_never_overwrites_a_newer_one(api, stack, dynamodb, customers_table):
    """Newer-wins on `synced_at`, on DynamoDB's own condition (moto): a record whose copy is newer
    than the write the API is about to make keeps its copy."""
    org_id = new_org_id()
    subscribed(api, stack, org_id)
    key = {"org_id": {"S": org_id}}
    future = 4_000_000_000_000  # a copy synced (ms) "later" than anything this run writes
    dynamodb.update_item(
        TableName=customers_table,
        Key=key,
        UpdateExpression="SET subscription.synced_at = :t",
        ExpressionAttributeValues={":t": {"N": str(future)}},
    )
    cancelled = api.request("POST", "/billing/subscription/cancel", owner(org_id), json={"at_period_end": True})
    assert cancelled.status_code == 200 and cancelled.json()["cancel_at_period_end"] is True, cancelled.text
    copy = dynamodb.get_item(TableName=customers_table, Key=key, ConsistentRead=True)["Item"]["subscription"]["M"]
    assert copy["synced_at"]["N"] == str(future), "the newer copy was overwritten"
    assert copy["cancel_at_period_end"]["BOOL"] is False, copy
