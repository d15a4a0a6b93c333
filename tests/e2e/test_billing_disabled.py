"""With ENABLE_BILLING=false every billing route answers 404 billing_disabled."""

from __future__ import annotations

import re

import pytest
from stacklib import LOCAL_PARAMETER_OVERRIDES, Template, mint_token
from support import assert_error, new_org_id


def billing_routes() -> list[tuple[str, str]]:
    """Every route of the template, path parameters filled in, so new routes are covered too."""
    routes = Template.load(parameter_overrides=LOCAL_PARAMETER_OVERRIDES).routes()
    return [
        ("GET" if r.method == "ANY" else r.method, re.sub(r"\{[^}]+\}", "x", r.path))
        for r in routes
        if r.path != "$default"
    ]


@pytest.mark.parametrize("method, path", billing_routes())
def test_billing_disabled_answers_billing_disabled_on_every_route(billing_disabled_api, stripe, method, path):
    org_id = new_org_id()
    response = billing_disabled_api.request(method, path, token=mint_token(org_id, "owner"), json={})
    assert_error(response, 404, "billing_disabled")
    assert stripe.customers_of_org(org_id) == []
