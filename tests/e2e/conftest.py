"""Session fixtures: the local stack (started here, or an already running one), a second
billing-disabled stack on the same backends, and clients for the API, the fake Stripe and moto.

    .venv/bin/pytest tests/e2e                       # starts its own stack on free ports
    E2E_BASE_URL=http://127.0.0.1:3000 E2E_STRIPE_URL=http://127.0.0.1:12111 \
    E2E_MOTO_URL=http://127.0.0.1:5055 .venv/bin/pytest tests/e2e   # uses a running `make dev`

Service logs of the stacks started here: .dev/logs/e2e/ and .dev/logs/e2e-billing-disabled/.

The same suite under the fake's other readings of what Stripe leaves undocumented (`make e2e` runs
both), so the product is not tuned to one guess:

    E2E_VARIANT=1 .venv/bin/pytest tests/e2e
      # detach leaves defaults in place, a charge without a payment method is refused, a
      # schedule update without trial_end keeps the trial, search lags 3 s, and webhooks are
      # rendered in API version 2024-06-20 (pre-basil shapes)

Logs of that run: .dev/logs/e2e-variant/.

Against Stripe test mode instead of the fake (`make e2e-stripe`; needs network and a test account,
so it cannot run on the CI machines): E2E_EXTERNAL_STRIPE=https://api.stripe.com with
STRIPE_SECRET_KEY=sk_test_… and STRIPE_PUBLISHABLE_KEY=pk_test_…. Tests marked `fake_only` (the
fake's private faults, request counts and delivery modes) are skipped; `needs_webhooks` ones too
unless STRIPE_WEBHOOK_SECRET is set and `stripe listen` forwards to E2E_API_PORT.
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
    StripeApi,
    free_ports,
    start_process,
    start_stack,
)

ATTACH_VARIABLES = ("E2E_BASE_URL", "E2E_STRIPE_URL", "E2E_MOTO_URL")
# Instances per function on the main stack: concurrent requests must really run in parallel for
# the race test (test_concurrent_first_ensures_create_exactly_one_customer).
FUNCTION_INSTANCES = 4

# The fake's non-default switches (tests/stripe-fake/README.md, "Guesses") for the variant run.
VARIANT_BEHAVIOURS = {
    "detach_clears_default": False,
    "missing_payment_method_fails_request": True,
    "schedule_update_without_trial_end": "keeps_trial",
    "off_session_authentication": "declines",
    "set_up_card_on_session": "requires_authentication",
    "invoice_after_last_retry": "uncollectible",
}
VARIANT_SEARCH_DELAY_SECONDS = 3
VARIANT_WEBHOOK_API_VERSION = "2024-06-20"


def variant() -> bool:
    return os.environ.get("E2E_VARIANT") == "1"


# `make e2e-stripe`: Stripe test mode (or any Stripe-compatible URL) instead of the fake.
EXTERNAL_STRIPE = os.environ.get("E2E_EXTERNAL_STRIPE")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not EXTERNAL_STRIPE:
        return
    fake_only = pytest.mark.skip(reason="uses the fake Stripe's private control (faults, counts, delivery modes)")
    no_deliveries = pytest.mark.skip(reason="Stripe's deliveries need `stripe listen` and STRIPE_WEBHOOK_SECRET")
    for item in items:
        if "fake_only" in item.keywords:
            item.add_marker(fake_only)
        elif "needs_webhooks" in item.keywords and not os.environ.get("STRIPE_WEBHOOK_SECRET"):
            item.add_marker(no_deliveries)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> StackUrls:
    attach = {name: os.environ.get(name) for name in ATTACH_VARIABLES}
    if any(attach.values()):
        if not all(attach.values()):
            pytest.fail(f"set all of {', '.join(ATTACH_VARIABLES)} to use a running stack")
        return StackUrls(attach["E2E_BASE_URL"], attach["E2E_STRIPE_URL"], attach["E2E_MOTO_URL"])
    if EXTERNAL_STRIPE:
        if variant():
            pytest.fail("E2E_VARIANT switches the fake's behaviours; it has no meaning against Stripe")
        options = {"api_port": int(os.environ["E2E_API_PORT"])} if os.environ.get("E2E_API_PORT") else {}
        return start_stack(
            request,
            "e2e-stripe",
            concurrency=FUNCTION_INSTANCES,
            stripe_test_clocks=True,
            stripe_url=EXTERNAL_STRIPE,
            **options,
        )
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
    backends = {"moto_port": urlsplit(stack.moto).port}
    if EXTERNAL_STRIPE:
        backends["stripe_url"] = EXTERNAL_STRIPE
    else:
        backends["stripe_port"] = urlsplit(stack.stripe).port
    disabled = StackProcess(
        "e2e-variant-billing-disabled" if variant() else "e2e-billing-disabled",
        reuse_backends=True,
        enable_billing="false",
        api_port=api_port,
        watch_port=watch_port,
        **backends,
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
    if EXTERNAL_STRIPE:
        pytest.skip("the fake Stripe's private control API is not there (mark the test fake_only)")
    return StripeFake(stack.stripe)


@pytest.fixture(scope="session")
def stripe(stack: StackUrls) -> StripeApi:
    return StripeApi(stack.stripe)


@pytest.fixture(autouse=True)
def delete_test_clocks(request: pytest.FixtureRequest):
    """Each org's test clock goes when its test ends (Stripe allows 100 per account)."""
    first = len(ORGS_CREATED)
    yield
    made = ORGS_CREATED[first:]
    if made and "stack" in request.fixturenames:
        StripeApi(request.getfixturevalue("stack").stripe).delete_clocks_of(made)


@pytest.fixture(scope="session")
def dynamodb(stack: StackUrls):
    return aws_client("dynamodb", stack.moto)


@pytest.fixture(scope="session")
def customers_table(template: Template) -> str:
    return template.parameters["CustomersTableName"]


def pytest_terminal_summary(terminalreporter) -> None:
    import contract

    terminalreporter.write_line(contract.summary())
