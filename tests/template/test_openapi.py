"""openapi.json (generated from the Rust types, drift-checked by `cargo test`) agrees with the
routes template.yaml deploys and with the README's route table."""

import json
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from stacklib import LOCAL_PARAMETER_OVERRIDES, Template  # noqa: E402

DOCUMENT = json.loads((ROOT / "openapi.json").read_text())
OPERATIONS = {
    (method.upper(), path): spec for path, item in DOCUMENT["paths"].items() for method, spec in item.items()
}


@pytest.fixture(scope="module")
def routes():
    return Template.load(parameter_overrides=LOCAL_PARAMETER_OVERRIDES).routes()


def test_every_deployed_route_is_documented_and_nothing_else(routes):
    deployed = {(r.method, r.path): r for r in routes}
    assert set(deployed) == set(OPERATIONS)
    for key, route in deployed.items():
        spec = OPERATIONS[key]
        assert spec["x-function"] == route.function.binary, key
        # Bearer auth exactly where the Lambda authorizer guards the route.
        assert bool(spec.get("security") and spec["security"][0]) == (route.authorizer is not None), key


def readme_routes():
    """`| \\`METHOD /path\\` | viewer | admin | owner | answers |` rows of the README's route table."""
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = re.match(r"\| `(GET|POST|PUT|DELETE) (/billing/[^`]*)` \| ([^|]+)\| ([^|]+)\| ([^|]+)\|", line)
        if match:
            method, path, *cells = match.groups()
            roles = [role for role, cell in zip(("viewer", "admin", "owner"), cells) if cell.strip() == "yes"]
            rows[(method, path)] = roles
    return rows


def test_the_readme_route_table_matches_the_document():
    rows = readme_routes()
    assert set(rows) == set(OPERATIONS)
    for key, roles in rows.items():
        assert roles == OPERATIONS[key].get("x-roles", []), key


def test_mutations_take_an_idempotency_key_and_every_error_is_an_envelope():
    for key, spec in OPERATIONS.items():
        headers = {p["name"] for p in spec.get("parameters", []) if p["in"] == "header"}
        if spec.get("x-roles") == ["admin", "owner"]:
            assert "Idempotency-Key" in headers, key
        for status, codes in spec["x-error-codes"].items():
            assert str(status) in spec["responses"], key
            assert all(re.fullmatch(r"[a-z_]+", code) for code in codes), key
