"""Payment methods and the Customer Portal, over the local stack: every route x role, cross-org
attempts with real ids, the detach rule, the return-URL allow-list and pagination."""

import pytest
import requests
from stacklib import mint_token
from support import APP, HTTP_TIMEOUT_S, STRIPE_SECRET_KEY, add_card, assert_error, new_org_id


def owner(org_id):
    return mint_token(org_id, "owner")


def listed(api, org_id, role="owner"):
    response = api.request("GET", "/billing/payment-methods", mint_token(org_id, role))
    assert response.status_code == 200, response.text
    return response.json()["payment_methods"]


def test_an_org_without_a_customer_lists_no_payment_methods(api):
    assert listed(api, new_org_id(), "viewer") == []


def test_a_card_added_through_a_setup_intent_is_listed_and_can_become_default(api, stack):
    org_id = new_org_id()
    first = add_card(api, stack, org_id)
    second = add_card(api, stack, org_id, "pm_card_mastercard")
    cards = listed(api, org_id, "viewer")
    assert {c["id"] for c in cards} == {first, second}
    assert all(set(c) == {"id", "brand", "last4", "exp_month", "exp_year", "is_default"} for c in cards)
    response = api.request("PUT", "/billing/payment-methods/default", owner(org_id), json={"payment_method_id": first})
    assert response.status_code == 200, response.text
    cards = listed(api, org_id)
    assert cards[0]["id"] == first and cards[0]["is_default"] and not cards[1]["is_default"]
    assert cards[0]["brand"] == "visa" and cards[0]["last4"] == "4242"


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("POST", "/billing/portal-session", {}),
        ("POST", "/billing/setup-intents", {}),
        ("PUT", "/billing/payment-methods/default", {"payment_method_id": "pm_123"}),
        ("DELETE", "/billing/payment-methods/pm_123", None),
    ],
)
def test_viewers_cannot_use_any_payment_mutation(api, method, path, body):
    response = api.request(method, path, mint_token(new_org_id(), "viewer"), json=body)
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_and_owners_can_create_setup_intents_and_portal_sessions(api, role):
    org_id = new_org_id()
    token = mint_token(org_id, role)
    intent = api.request("POST", "/billing/setup-intents", token)
    assert intent.status_code == 201 and intent.json()["client_secret"].startswith(intent.json()["id"])
    portal = api.request("POST", "/billing/portal-session", token, json={})
    assert portal.status_code == 201, portal.text
    page = requests.get(portal.json()["url"], timeout=HTTP_TIMEOUT_S)
    assert page.status_code == 200 and f"{APP}/billing" in page.text


def test_another_org_cannot_set_default_or_detach_a_real_payment_method(api, stack):
    victim, attacker = new_org_id(), new_org_id()
    victims_card = add_card(api, stack, victim)
    add_card(api, stack, attacker)
    set_default = api.request(
        "PUT", "/billing/payment-methods/default", owner(attacker), json={"payment_method_id": victims_card}
    )
    assert_error(set_default, 404, "payment_method_not_found")
    detach = api.request("DELETE", f"/billing/payment-methods/{victims_card}", owner(attacker))
    assert_error(detach, 404, "payment_method_not_found")
    assert [c["id"] for c in listed(api, victim)] == [victims_card]
    # An org with no customer at all gets the same answer.
    detach = api.request("DELETE", f"/billing/payment-methods/{victims_card}", owner(new_org_id()))
    assert_error(detach, 404, "payment_method_not_found")


def test_detaching_the_default_promotes_another_card(api, stack):
    org_id = new_org_id()
    older = add_card(api, stack, org_id)
    newer = add_card(api, stack, org_id, "pm_card_mastercard")
    api.request("PUT", "/billing/payment-methods/default", owner(org_id), json={"payment_method_id": older})
    response = api.request("DELETE", f"/billing/payment-methods/{older}", owner(org_id))
    assert response.status_code == 200, response.text
    assert response.json() == {"detached": older, "default_payment_method": newer}
    cards = listed(api, org_id)
    assert [(c["id"], c["is_default"]) for c in cards] == [(newer, True)]


def test_malformed_and_missing_payment_method_ids_are_400(api):
    token = owner(new_org_id())
    assert_error(
        api.request("PUT", "/billing/payment-methods/default", token, json={"payment_method_id": "card_1"}),
        400,
        "invalid_payment_method_id",
    )
    assert_error(api.request("PUT", "/billing/payment-methods/default", token, json={}), 400, "invalid_request")
    assert_error(
        api.request("PUT", "/billing/payment-methods/default", token, json={"payment_method_id": "pm_1", "x": 1}),
        400,
        "invalid_request",
    )
    assert_error(api.request("DELETE", "/billing/payment-methods/src_123", token), 400, "invalid_payment_method_id")


@pytest.mark.parametrize(
    "return_url", ["https://evil.example/billing", "javascript:alert(1)", "//evil.example/billing", "ftp://localhost:3001/"]
)
def test_portal_return_urls_off_the_app_origin_are_refused(api, stripe, return_url):
    org_id = new_org_id()
    response = api.request("POST", "/billing/portal-session", owner(org_id), json={"return_url": return_url})
    assert_error(response, 400, "invalid_return_url")
    assert stripe.customers_of_org(org_id) == [], "nothing is created for a refused request"


def test_portal_session_uses_a_supplied_return_url_on_the_app_origin(api):
    response = api.request(
        "POST", "/billing/portal-session", owner(new_org_id()), json={"return_url": f"{APP}/settings/billing"}
    )
    assert response.status_code == 201, response.text
    page = requests.get(response.json()["url"], timeout=HTTP_TIMEOUT_S)
    assert f"{APP}/settings/billing" in page.text


def test_more_than_one_page_of_cards_is_listed_completely(api, stack):
    org_id = new_org_id()
    customer = api.ensure_customer(owner(org_id)).json()["stripe_customer_id"]
    # Server-side attach of Stripe's test payment method token, as Stripe allows in test mode.
    for _ in range(120):
        attached = requests.post(
            f"{stack.stripe}/v1/payment_methods/pm_card_visa/attach",
            data={"customer": customer},
            headers={"Authorization": f"Bearer {STRIPE_SECRET_KEY}"},
            timeout=HTTP_TIMEOUT_S,
        )
        assert attached.status_code == 200, attached.text
    cards = listed(api, org_id)
    assert len(cards) == 120 and len({c["id"] for c in cards}) == 120


def test_a_repeated_idempotency_key_creates_one_setup_intent(api):
    token = owner(new_org_id())
    headers = {"Idempotency-Key": "add-card-click-1"}
    first = api.request("POST", "/billing/setup-intents", token, headers=dict(headers))
    second = api.request("POST", "/billing/setup-intents", token, headers=dict(headers))
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    third = api.request("POST", "/billing/setup-intents", token)
    assert third.json()["id"] != first.json()["id"]
    assert_error(
        api.request("POST", "/billing/setup-intents", token, headers={"Idempotency-Key": "x" * 201}),
        400,
        "invalid_idempotency_key",
    )
