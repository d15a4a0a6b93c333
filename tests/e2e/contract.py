"""Contract checks: every answer the end-to-end tests get from the API is validated against the
committed openapi.json — a documented status, a body matching its schema, and for errors a code the
route lists under that status (`x-error-codes`). Code and contract cannot drift apart unnoticed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from jsonschema import Draft202012Validator
from stacklib import REPO_ROOT

DOCUMENT = json.loads((REPO_ROOT / "openapi.json").read_text())


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    pattern: re.Pattern
    spec: dict


def _operations() -> list[Operation]:
    operations = []
    for template, item in DOCUMENT["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
        for method, spec in item.items():
            operations.append(Operation(method.upper(), template, pattern, spec))
    return operations


OPERATIONS = _operations()
CHECKED: Counter[str] = Counter()  # "METHOD template status" → responses validated


class ContractViolation(AssertionError):
    pass


def operation_for(method: str, path: str) -> Operation | None:
    return next((op for op in OPERATIONS if op.method == method and op.pattern.match(path)), None)


def check(response: requests.Response) -> None:
    """Raises ContractViolation when the answer is not what openapi.json promises."""
    method = response.request.method or "GET"
    path = urlsplit(response.url).path
    operation = operation_for(method, path)
    if operation is None:
        return  # not an API route: the gateway's own 404/405, checked by the tests themselves
    where = f"{method} {operation.template} → {response.status_code}"
    answers = operation.spec["responses"].get(str(response.status_code))
    if answers is None:
        raise ContractViolation(f"{where}: status not documented ({response.text[:200]})")
    try:
        body = response.json()
    except ValueError as error:
        raise ContractViolation(f"{where}: body is not JSON: {response.text[:200]!r}") from error
    schema = answers["content"]["application/json"]["schema"]
    errors = sorted(
        Draft202012Validator({**schema, "components": DOCUMENT["components"]}).iter_errors(body),
        key=lambda e: list(e.path),
    )
    if errors:
        raise ContractViolation(f"{where}: body does not match the schema: {errors[0].message} in {body}")
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        codes = operation.spec["x-error-codes"].get(str(response.status_code), [])
        if body["error"]["code"] not in codes:
            raise ContractViolation(f"{where}: code {body['error']['code']!r} not listed ({codes})")
    CHECKED[f"{method} {operation.template} {response.status_code}"] += 1


def summary() -> str:
    routes = {key.rsplit(" ", 1)[0] for key in CHECKED}
    total = sum(len(op.spec["responses"]) for op in OPERATIONS)
    return (
        f"contract: {sum(CHECKED.values())} responses validated against openapi.json; "
        f"{len(routes)}/{len(OPERATIONS)} operations and {len(CHECKED)}/{total} documented statuses seen"
    )
