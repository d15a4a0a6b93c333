"""Session fixtures: the local stack (started here, or an already running one), a second
billing-disabled stack on the same backends, and clients for the API, the fake Stripe and moto.

    .venv/bin/pytest tests/e2e                       # starts its own stack on free ports
    E2E_BASE_URL=http://127.0.0.1:3000 E2E_STRIPE_URL=http://127.0.0.1:12111 \
    E2E_MOTO_URL=http://127.0.0.1:5055 .venv/bin/pytest tests/e2e   # uses a running `make dev`

Service logs of the stacks started here: .dev/logs/e2e/ and .dev/logs/e2e-billing-disabled/.

The same suite under the fake's other readings of what Stripe leaves undocumented (`make e2e` runs
both), so the product is not tuned to one guess:

    E2E_VARIANT=1 .venv/bin/pytest tests/e2e
      # detach leaves defaults in place, a charge without a payment method is refused,
      # search lags 3 s, and webhooks are rendered in API version 2024-06-20 (pre-basil shapes)

Logs of that run: .dev/logs/e2e-variant/.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import requests
from stacklib import LOCAL_PARAMETER_OVERRIDES, Template, aws_client
from support import (
    ORGS_CREATED,
    Api,
    StackProcess,
    StackUrls,
    StripeFake,
    TestClocks,
    free_ports,
    start_process,
    start_stack,
)

ATTACH_VARIABLES = ("E2E_BASE_URL", "E2E_STRIPE_URL", "E2E_MOTO_URL")
# Instances per function on the main stack: concurrent requests must really run in parallel for
# the race test (test_concurrent_first_ensures_create_exactly_one_customer).
FUNCTION_INSTANCES = 4

# The fake's non-default switches (tests/stripe-fake/README.md, "Guesses") for the variant run.
VARIANT_BEHAVIOURS = {"detach_clears_default": False, "missing_payment_method_fails_request": True}
VARIANT_SEARCH_DELAY_SECONDS = 3
VARIANT_WEBHOOK_API_VERSION = "2024-06-20"


def variant() -> bool:
    return os.environ.get("E2E_VARIANT") == "1"


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> StackUrls:
    attach = {name: os.environ.get(name) for name in ATTACH_VARIABLES}
    if any(attach.values()):
        if not all(attach.values()):
            pytest.fail(f"set all of {', '.join(ATTACH_VARIABLES)} to use a running stack")
        return StackUrls(attach["E2E_BASE_URL"], attach["E2E_STRIPE_URL"], attach["E2E_MOTO_URL"])
    if not variant():
        return start_stack(request, "e2e", concurrency=FUNCTION_INSTANCES, stripe_test_clocks=True)
    urls = start_stack(
        request,
        "e2e-variant",
        concurrency=FUNCTION_INSTANCES,
        stripe_test_clocks=True,
        webhook_api_version=VARIANT_WEBHOOK_API_VERSION,
    )
    for path, body in [
        ("/_fake/behaviours", VARIANT_BEHAVIOURS),
        ("/_fake/search/delay", {"seconds": VARIANT_SEARCH_DELAY_SECONDS}),
    ]:
        response = requests.post(f"{urls.stripe}{path}", json=body, timeout=10)
        assert response.status_code == 200, response.text
    return urls


@pytest.fixture(scope="session")
def billing_disabled_api(stack: StackUrls, request: pytest.FixtureRequest) -> Api:
    """Functions and gateway with ENABLE_BILLING=false, on the main stack's moto and fake."""
    api_port, watch_port = free_ports(2)
    disabled = StackProcess(
        "e2e-variant-billing-disabled" if variant() else "e2e-billing-disabled",
        reuse_backends=True,
        enable_billing="false",
        api_port=api_port,
        watch_port=watch_port,
        stripe_port=urlsplit(stack.stripe).port,
        moto_port=urlsplit(stack.moto).port,
    )
    return Api(start_process(disabled, request))


@pytest.fixture(scope="session")
def template() -> Template:
    return Template.load(parameter_overrides=LOCAL_PARAMETER_OVERRIDES)


@pytest.fixture
def api(stack: StackUrls) -> Api:
    return Api(stack.api)


@pytest.fixture(scope="session")
def stripe_fake(stack: StackUrls) -> StripeFake:
    return StripeFake(stack.stripe)


@pytest.fixture(scope="session")
def clocks(stack: StackUrls) -> TestClocks:
    return TestClocks(stack.stripe)


@pytest.fixture(autouse=True)
def delete_test_clocks(request: pytest.FixtureRequest):
    """Each org's test clock goes when its test ends (Stripe allows 100 per account)."""
    first = len(ORGS_CREATED)
    yield
    made = ORGS_CREATED[first:]
    if made and "stack" in request.fixturenames:
        TestClocks(request.getfixturevalue("stack").stripe).delete_for(made)


@pytest.fixture(scope="session")
def dynamodb(stack: StackUrls):
    return aws_client("dynamodb", stack.moto)


@pytest.fixture(scope="session")
def customers_table(template: Template) -> str:
    return template.parameters["CustomersTableName"]


def pytest_terminal_summary(terminalreporter) -> None:
    import contract

    terminalreporter.write_line(contract.summary())
