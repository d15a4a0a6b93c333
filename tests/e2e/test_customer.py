"""GET and POST /billing/customer through the gateway, the authorizer and the real functions."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from stacklib import mint_token
from support import HTTP_TIMEOUT_S, assert_error, new_org_id

CONCURRENT_CALLERS = 25


def customer_items(dynamodb, table: str, org_id: str) -> list[dict]:
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="org_id = :org",
        ExpressionAttributeValues={":org": {"S": org_id}},
        ConsistentRead=True,
    )
    return [item for page in pages for item in page["Items"]]


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_ensuring_twice_creates_the_customer_once_and_get_returns_it(api, stripe, role):
    org_id = new_org_id()
    token = mint_token(org_id, role)

    first = api.ensure_customer(token, json={})
    assert first.status_code == 201, first.text
    second = api.ensure_customer(token, json={})
    assert second.status_code == 200, second.text
    customer_id = first.json()["stripe_customer_id"]
    assert customer_id.startswith("cus_")
    assert second.json()["stripe_customer_id"] == customer_id
    assert first.json()["org_id"] == org_id

    read = api.get_customer(token)
    assert read.status_code == 200, read.text
    assert read.json()["org_id"] == org_id
    assert read.json()["stripe_customer_id"] == customer_id
    assert read.json()["created_at"]
    assert [c["id"] for c in stripe.customers_of_org(org_id)] == [customer_id]


def test_ensure_without_a_body_creates_the_customer(api):
    response = api.ensure_customer(mint_token(new_org_id(), "owner"))
    assert response.status_code == 201, response.text


def test_contact_fields_are_not_accepted_and_nothing_is_created(api, stripe):
    # Contact details are edited in the Customer Portal; ensure takes no fields (README).
    org_id = new_org_id()
    response = api.ensure_customer(mint_token(org_id, "owner"), json={"email": "billing@example.com"})
    assert_error(response, 400, "invalid_request")
    assert stripe.customers_of_org(org_id) == []


def test_get_before_ensure_is_customer_not_found(api):
    assert_error(api.get_customer(mint_token(new_org_id(), "owner")), 404, "customer_not_found")


@pytest.mark.parametrize("role", ["viewer", "admin", "owner"])
def test_every_role_reads_the_customer_of_its_own_org(api, role):
    org_id = new_org_id()
    token = mint_token(org_id, role)
    assert_error(api.get_customer(token), 404, "customer_not_found")
    customer_id = api.ensure_customer(mint_token(org_id, "owner"), json={}).json()["stripe_customer_id"]

    response = api.get_customer(token)
    assert response.status_code == 200, response.text
    assert response.json()["stripe_customer_id"] == customer_id


def test_an_org_never_sees_another_orgs_customer(api):
    api.ensure_customer(mint_token(new_org_id(), "owner"), json={})
    assert_error(api.get_customer(mint_token(new_org_id(), "owner")), 404, "customer_not_found")


def test_viewer_cannot_ensure_a_customer(api, stripe):
    org_id = new_org_id()
    assert_error(api.ensure_customer(mint_token(org_id, "viewer"), json={}), 403, "forbidden")
    assert stripe.customers_of_org(org_id) == []


def test_malformed_json_is_invalid_json(api):
    response = api.ensure_customer(
        mint_token(new_org_id(), "owner"), data=b'{"email": ', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_json")


def test_unknown_field_is_invalid_request(api, stripe):
    org_id = new_org_id()
    assert_error(
        api.ensure_customer(mint_token(org_id, "owner"), json={"org_id": "org_someone_else"}), 400, "invalid_request"
    )
    assert stripe.customers_of_org(org_id) == []


@pytest.mark.fake_only
def test_reading_a_customer_makes_no_stripe_call(api, stripe_fake):
    token = mint_token(new_org_id(), "owner")
    api.ensure_customer(token, json={})
    before = stripe_fake.request_total()
    assert api.get_customer(token).status_code == 200
    assert stripe_fake.request_total() == before


def test_concurrent_first_ensures_create_exactly_one_customer(api, stripe, dynamodb, customers_table):
    """25 callers on separate connections, released together: one creates, all agree."""
    org_id = new_org_id()
    token = mint_token(org_id, "admin")
    start_together = threading.Barrier(CONCURRENT_CALLERS)

    def ensure(_: int) -> requests.Response:
        with requests.Session() as session:
            start_together.wait(timeout=HTTP_TIMEOUT_S)
            return session.post(
                f"{api.base_url}/billing/customer",
                json={},
                headers={"Authorization": f"Bearer {token}"},
                timeout=HTTP_TIMEOUT_S,
            )

    with ThreadPoolExecutor(max_workers=CONCURRENT_CALLERS) as pool:
        responses = list(pool.map(ensure, range(CONCURRENT_CALLERS)))

    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {200, 201}, [r.text for r in responses if r.status_code not in (200, 201)]
    assert statuses.count(201) == 1, statuses
    customer_ids = {r.json()["stripe_customer_id"] for r in responses}
    assert len(customer_ids) == 1, customer_ids
    assert [c["id"] for c in stripe.customers_of_org(org_id)] == list(customer_ids)
    items = customer_items(dynamodb, customers_table, org_id)
    assert [item["stripe_customer_id"]["S"] for item in items] == list(customer_ids)
