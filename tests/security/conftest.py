"""Session fixtures of the security suite: its own stack on free 127.0.0.1 ports (service logs in
.dev/logs/security/, scanned for secrets and panics at the end), clients, tokens and helpers.

    .venv/bin/pytest tests/security              # default: small fuzzing budget (~3 min on 2 cores)
    SECURITY_FUZZ_EXAMPLES=200 .venv/bin/pytest tests/security    # a bigger fuzzing run
    SECURITY_FUZZ_SEED=1234 ...                                     # replay a fuzzing run

It reuses tests/e2e's support.py (StackProcess, Api, assert_error) and contract.py, and
scripts/stacklib.py (mint_token, the dev settings), through pytest.ini's pythonpath.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import report
from stacklib import LOCAL_PARAMETER_OVERRIDES, Template, aws_client
from support import StackUrls, StripeFake, start_stack

STACK_NAME = "security"
# Hypothesis keeps its caches under .dev/ (ignored), not in a new .hypothesis/ at the repository root.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(Path(__file__).resolve().parents[2] / ".dev" / "hypothesis"))


@pytest.fixture(scope="session")
def template() -> Template:
    return Template.load(parameter_overrides=LOCAL_PARAMETER_OVERRIDES)


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest) -> StackUrls:
    return start_stack(request, STACK_NAME)


@pytest.fixture(scope="session")
def stripe_fake(stack: StackUrls) -> StripeFake:
    return StripeFake(stack.stripe)


@pytest.fixture(scope="session")
def stripe_secret(stack: StackUrls, template: Template) -> dict:
    """The Stripe secret document the functions read: {"api_key", "webhook_secret"}."""
    secrets = aws_client("secretsmanager", stack.moto)
    value = secrets.get_secret_value(SecretId=template.parameters["StripeSecretName"])["SecretString"]
    return json.loads(value)


@pytest.fixture(scope="session")
def customers_table(stack: StackUrls, template: Template):
    dynamodb = aws_client("dynamodb", stack.moto)
    name = template.parameters["CustomersTableName"]

    def record(org_id: str) -> dict | None:
        return dynamodb.get_item(TableName=name, Key={"org_id": {"S": org_id}}, ConsistentRead=True).get("Item")

    return record


def pytest_terminal_summary(terminalreporter) -> None:
    import contract

    for line in report.render():
        terminalreporter.write_line(line)
    terminalreporter.write_line(contract.summary())
