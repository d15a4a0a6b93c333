"""When Stripe is down the API fails cleanly with a stable code, and recovers without duplicates."""

from __future__ import annotations

import pytest
from stacklib import mint_token
from support import assert_error, new_org_id


@pytest.mark.fake_only
def test_stripe_outage_fails_with_a_stable_code_and_a_retry_recovers(api, stripe, stripe_fake):
    org_id = new_org_id()
    token = mint_token(org_id, "owner")

    codes = set()
    with stripe_fake.down(503):
        for _ in range(2):
            response = api.ensure_customer(token, json={})
            assert response.status_code in (502, 503), response.text
            codes.add(assert_error(response, response.status_code)["code"])
    assert len(codes) == 1, codes

    retry = api.ensure_customer(token, json={})
    assert retry.status_code == 201, retry.text
    assert [c["id"] for c in stripe.customers_of_org(org_id)] == [retry.json()["stripe_customer_id"]]


@pytest.mark.fake_only
def test_reading_a_customer_works_while_stripe_is_down(api, stripe_fake):
    token = mint_token(new_org_id(), "owner")
    customer_id = api.ensure_customer(token, json={}).json()["stripe_customer_id"]
    with stripe_fake.down(503):
        response = api.get_customer(token)
    assert response.status_code == 200, response.text
    assert response.json()["stripe_customer_id"] == customer_id
