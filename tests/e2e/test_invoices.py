"""The org's invoices (newest first, cursor pages) and paying an open one with the default card:
paid, declined (402), authentication needed (client secret), not payable (409), not the org's (404)."""

from stacklib import mint_token
from support import add_card, assert_error, eventually, new_org_id
from test_payments import UPGRADE_NOW, with_default_card
from test_subscriptions import stripe_get, subscribed

FIELDS = {
    "id", "number", "status", "total", "amount_due", "amount_paid", "amount_remaining", "currency", "created",
    "period_start", "period_end", "hosted_invoice_url", "invoice_pdf",
}


def owner(org_id):
    return mint_token(org_id, "owner")


def invoices(api, org_id, **params):
    response = api.request("GET", "/billing/invoices", mint_token(org_id, "viewer"), params=params)
    assert response.status_code == 200, response.text
    return response.json()


def declined_upgrade(api, stack) -> tuple[str, str, str]:
    """An org whose upgrade was declined: (org, subscription id, the open invoice's id)."""
    org_id = new_org_id()
    subscription = subscribed(api, stack, org_id)
    with_default_card(api, stack, org_id, "pm_card_chargeCustomerFail")
    response = api.request("POST", "/billing/subscription/plan-change", owner(org_id), json=UPGRADE_NOW)
    assert_error(response, 402, "payment_failed")
    pending = api.request("GET", "/billing/subscription", owner(org_id)).json()["pending_payment"]
    return org_id, subscription["id"], pending["invoice_id"]


def test_invoices_are_listed_newest_first_in_cursor_pages(api, stack):
    assert invoices(api, new_org_id()) == {"invoices": [], "has_more": False, "next_cursor": None}
    org_id, _, open_invoice = declined_upgrade(api, stack)
    customer = api.get_customer(owner(org_id)).json()["stripe_customer_id"]
    truth = stripe_get(stack, "/v1/invoices", customer=customer, limit=100)["data"]

    listed = invoices(api, org_id)
    assert [i["id"] for i in listed["invoices"]] == [i["id"] for i in truth]
    assert listed["has_more"] is False and listed["next_cursor"] is None
    first = listed["invoices"][0]
    assert set(first) == FIELDS
    assert (first["id"], first["status"], first["amount_remaining"]) == (open_invoice, "open", truth[0]["amount_remaining"])
    assert listed["invoices"][-1]["status"] == "paid"

    page = invoices(api, org_id, limit=1)
    assert [i["id"] for i in page["invoices"]] == [truth[0]["id"]]
    assert page["has_more"] is True and page["next_cursor"] == truth[0]["id"]
    rest = invoices(api, org_id, limit=1, starting_after=page["next_cursor"])
    assert [i["id"] for i in rest["invoices"]] == [truth[1]["id"]]

    for bad in ({"limit": 0}, {"limit": 101}, {"limit": "x"}, {"starting_after": "pm_123"}):
        response = api.request("GET", "/billing/invoices", owner(org_id), params=bad)
        assert_error(response, 400, "invalid_request")


def test_paying_the_open_invoice_with_a_new_default_card_applies_the_waiting_change(api, stack):
    org_id, subscription_id, invoice = declined_upgrade(api, stack)
    card = add_card(api, stack, org_id)
    assert api.request("PUT", "/billing/payment-methods/default", owner(org_id),
                       json={"payment_method_id": card}).status_code == 200
    paid = api.request("POST", f"/billing/invoices/{invoice}/pay", owner(org_id),
                       headers={"Idempotency-Key": f"pay-{invoice}"})
    assert paid.status_code == 200, paid.text
    body = paid.json()
    assert body["invoice"]["status"] == "paid" and body["requires_action"] is False, body
    assert stripe_get(stack, f"/v1/subscriptions/{subscription_id}")["items"]["data"][0]["price"][
        "lookup_key"] == "pro_monthly"
    eventually(lambda: api.request("GET", "/billing/subscription", owner(org_id)).json()["plan"] == "pro_monthly", seconds=30)

    again = api.request("POST", f"/billing/invoices/{invoice}/pay", owner(org_id))
    assert_error(again, 409, "invoice_not_payable")


def test_a_declined_payment_is_402_and_authentication_hands_a_client_secret(api, stack):
    org_id, _, invoice = declined_upgrade(api, stack)
    declined = api.request("POST", f"/billing/invoices/{invoice}/pay", owner(org_id))
    error = assert_error(declined, 402, "payment_failed")
    assert error["decline_code"] == "generic_decline"

    with_default_card(api, stack, org_id, "pm_card_authenticationRequired")
    needs_action = api.request("POST", f"/billing/invoices/{invoice}/pay", owner(org_id))
    assert needs_action.status_code == 200, needs_action.text
    body = needs_action.json()
    assert body["requires_action"] is True and body["client_secret"].startswith("pi_"), body
    assert body["invoice"]["status"] == "open"


def test_another_orgs_invoice_or_a_malformed_id_is_not_found(api, stack):
    _, _, foreign = declined_upgrade(api, stack)
    org_id = new_org_id()
    subscribed(api, stack, org_id)
    for invoice in (foreign, "in_doesnotexist", "pm_123", "x" * 300):
        response = api.request("POST", f"/billing/invoices/{invoice}/pay", owner(org_id))
        assert_error(response, 404, "invoice_not_found")
    viewer = api.request("POST", f"/billing/invoices/{foreign}/pay", mint_token(org_id, "viewer"))
    assert_error(viewer, 403, "forbidden")
