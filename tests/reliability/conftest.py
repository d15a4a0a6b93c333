"""Session fixtures of the reliability suite: its own local stack on free ports (4 instances per
function, so concurrent requests really run in parallel), a second stack on the same moto and
fake Stripe whose functions reach moto through a fault-injecting proxy, and clients.

    .venv/bin/pytest tests/reliability                       # CI size (about 3 minutes)
    RELIABILITY_SCALE=5 .venv/bin/pytest tests/reliability   # 5x the load, full fault matrix

Service logs: .dev/logs/reliability/ and .dev/logs/reliability-proxied/.
The summary table (cases tried, failures per group) is printed at the end of the run.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for extra in (HERE.parent / "e2e", HERE.parents[1] / "scripts"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from dynamo_proxy import DynamoFaultProxy  # noqa: E402
from rel import LEDGER, SCALE, Stripe  # noqa: E402
from stacklib import LOCAL_PARAMETER_OVERRIDES, Template, aws_client  # noqa: E402
from support import Api, StackProcess, StackUrls, free_ports, start_stack  # noqa: E402

FUNCTION_INSTANCES = 4  # main stack: parallel instances per function for the races
PROXIED_INSTANCES = 2


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> StackUrls:
    return start_stack(request, "reliability", concurrency=FUNCTION_INSTANCES)


@pytest.fixture(scope="session")
def dynamo_proxy(stack: StackUrls, request: pytest.FixtureRequest) -> DynamoFaultProxy:
    proxy = DynamoFaultProxy(stack.moto).start()
    request.addfinalizer(proxy.stop)
    return proxy


@pytest.fixture(scope="session")
def proxied_api_starting(stack: StackUrls, dynamo_proxy: DynamoFaultProxy, request: pytest.FixtureRequest):
    """Functions and gateway on the main stack's fake Stripe, reaching moto through the proxy.
    Started in the background as soon as the main stack is up (an autouse fixture asks for it),
    so its start overlaps the first tests."""
    api_port, watch_port = free_ports(2)
    process = StackProcess(
        "reliability-proxied",
        reuse_backends=True,
        api_port=api_port,
        watch_port=watch_port,
        stripe_port=int(stack.stripe.rsplit(":", 1)[1]),
        moto_port=dynamo_proxy.port,
        concurrency=PROXIED_INSTANCES,
    )
    request.addfinalizer(process.stop)  # registered first: a half-started stack is still stopped
    pool = ThreadPoolExecutor(max_workers=1)
    request.addfinalizer(lambda: pool.shutdown(wait=True))
    return pool.submit(process.start)


@pytest.fixture(scope="session", autouse=True)
def _start_proxied_stack_early(proxied_api_starting):
    return proxied_api_starting


@pytest.fixture(scope="session")
def proxied_api(proxied_api_starting) -> Api:
    return Api(proxied_api_starting.result())


@pytest.fixture(scope="session")
def api(stack: StackUrls) -> Api:
    return Api(stack.api)


@pytest.fixture(scope="session")
def stripe(stack: StackUrls) -> Stripe:
    return Stripe(stack.stripe)


@pytest.fixture(scope="session")
def template() -> Template:
    return Template.load(parameter_overrides=LOCAL_PARAMETER_OVERRIDES)


@pytest.fixture(scope="session")
def dynamodb(stack: StackUrls):
    return aws_client("dynamodb", stack.moto)


@pytest.fixture(scope="session")
def tables(template: Template) -> dict[str, str]:
    return {
        "customers": template.parameters["CustomersTableName"],
        "events": template.parameters["WebhookEventsTableName"],
    }


def pytest_terminal_summary(terminalreporter) -> None:
    import contract

    write = terminalreporter.write_line
    terminalreporter.section(f"reliability summary (RELIABILITY_SCALE={SCALE})")
    for line in LEDGER.table():
        write(line)
    if LEDGER.figures:
        write("")
        for line in LEDGER.figures:
            write(line)
    failed = LEDGER.failed_cases()
    if failed:
        write("")
        write(f"failed cases ({len(failed)}):")
        for line in failed[:80]:
            write("  " + line)
        if len(failed) > 80:
            write(f"  … and {len(failed) - 80} more")
    write(contract.summary())
