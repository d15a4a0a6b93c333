"""The Lambda authorizer as API Gateway applies it: bad tokens never reach a function."""

from __future__ import annotations

import pytest
from stacklib import mint_token
from support import assert_gateway_message, new_org_id

ROUTES = [("GET", "/billing/customer"), ("POST", "/billing/customer")]

BAD_TOKENS = {
    "expired": dict(expired=True),
    "wrong audience": dict(audience="some-other-api"),
    "wrong issuer": dict(issuer="https://evil.example.com"),
    "forged signature": dict(secret="not-the-dev-secret-but-just-as-long-0123456789"),
    "alg none": dict(algorithm="none"),
}


@pytest.mark.parametrize("method, path", ROUTES)
def test_a_request_without_a_token_is_unauthorized(api, method, path):
    assert_gateway_message(api.request(method, path), 401, "Unauthorized")


@pytest.mark.parametrize("method, path", ROUTES)
def test_an_empty_authorization_header_is_unauthorized(api, method, path):
    assert_gateway_message(api.request(method, path, headers={"Authorization": ""}), 401, "Unauthorized")


@pytest.mark.parametrize("method, path", ROUTES)
def test_a_token_that_is_not_a_jwt_is_unauthorized(api, method, path):
    assert_gateway_message(api.request(method, path, token="not-a-jwt"), 401, "Unauthorized")


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("flaw", BAD_TOKENS)
def test_a_bad_token_is_unauthorized(api, stripe, method, path, flaw):
    org_id = new_org_id()
    token = mint_token(org_id, "owner", **BAD_TOKENS[flaw])
    assert_gateway_message(api.request(method, path, token=token, json={}), 401, "Unauthorized")
    assert stripe.customers_of_org(org_id) == []


@pytest.mark.parametrize("method, path", ROUTES)
def test_a_valid_token_with_an_unknown_role_is_forbidden(api, method, path):
    token = mint_token(new_org_id(), "superuser")
    assert_gateway_message(api.request(method, path, token=token, json={}), 403, "Forbidden")


def test_an_unknown_route_is_not_found(api):
    response = api.request("GET", "/billing/nothing-here", token=mint_token(new_org_id(), "owner"))
    assert_gateway_message(response, 404, "Not Found")
