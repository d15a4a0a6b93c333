"""Authorization matrix: every route of openapi.json × who is asking → the status each cell must get.

Columns: the three roles acting on their own org; bad tokens that claim `owner` of an org with real
billing state (a customer, three cards, a live subscription); a valid token with an unknown role;
and an owner of *another* org naming this org's payment method ids. Every denied cell is checked to
reach no Stripe mutation (the fake's `/_fake/requests`, non-GET routes), and the target org's state
(fake Stripe customer, default card, cards, subscription; DynamoDB record) is compared before and
after all denied cells.

HS/RS confusion. The authorizer pins the algorithm to its key source (shared/src/auth/token.rs):
with an HS256 secret (local and dev) only `HS256` headers are verified; with a JWKS only RS256/ES256,
so a public key is never used as an HMAC secret. Locally the cells are:
- `hs-pubkey`: HS256 signed with the identity provider's *public* key material (the PEM of the
  fixture IdP key, shared/tests/fixtures/rsa-public.pem, which a JWKS publishes): the classic attack
  on verifiers that feed whatever key they hold to whatever algorithm the header names.
- `rs-hmac`: header `alg: RS256` (kid of the fixture key) over an HMAC-SHA256 signature made with
  the real dev HS256 secret: the signature bytes are right for the local key, only the header lies;
  a verifier that let the header's algorithm pick the check, or ignored it, would accept it.
- `rs-idp`: a correctly RS256-signed token from the fixture IdP key (valid under a JWKS
  configuration): an HS256-configured authorizer must not fall back to asymmetric verification.
All three must be 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

import contract
import jwt
import pytest
import report
import requests
from stacklib import DEV_JWT_AUDIENCE, DEV_JWT_ISSUER, DEV_JWT_SECRET, DEV_STRIPE_API_KEY, REPO_ROOT, mint_token
from state import Org, prepare_org, snapshot, stripe_mutations
from support import HTTP_TIMEOUT_S

AREA = "authorization matrix"
FIXTURES = REPO_ROOT / "shared" / "tests" / "fixtures"

# Rows, in the order the allowed roles run them on their own org (each succeeds on the state the
# rows before it leave): (method, path template, JSON body or None, success status).
ROWS = [
    ("GET", "/billing/customer", None, 200),
    ("POST", "/billing/customer", {}, 200),
    ("GET", "/billing/payment-methods", None, 200),
    ("POST", "/billing/setup-intents", {}, 201),
    ("PUT", "/billing/payment-methods/default", "PM_SECOND", 200),
    ("DELETE", "/billing/payment-methods/{id}", None, 200),
    ("POST", "/billing/portal-session", {}, 201),
    ("GET", "/billing/plans", None, 200),
    ("POST", "/billing/subscription", {"plan": "starter_monthly"}, 201),
    ("GET", "/billing/subscription", None, 200),
    ("POST", "/billing/invoice-preview", None, 200),
    ("POST", "/billing/subscription/plan-change", {"plan": "pro_monthly", "timing": "period_end"}, 200),
    ("POST", "/billing/subscription/cancel", {"at_period_end": True}, 200),
    ("POST", "/billing/subscription/resume", {}, 200),
    ("GET", "/billing/invoices", None, 200),
    # The org's one invoice (its subscription's first) is paid: an allowed role reaches the use case
    # and is told so; the refusals are what this row is for.
    ("POST", "/billing/invoices/{id}/pay", {}, 409),
    ("POST", "/billing/webhooks/stripe", {"id": "evt_forged", "type": "customer.subscription.deleted"}, 400),
]
ROLES = ("viewer", "admin", "owner")
BAD_TOKEN_COLUMNS = (
    "none",
    "expired",
    "wrong-iss",
    "wrong-aud",
    "alg-none",
    "hs-pubkey",
    "rs-hmac",
    "rs-idp",
    "forged",
)
COLUMNS = [*ROLES, *BAD_TOKEN_COLUMNS, "bad-role", "cross-org"]
WEBHOOK = "POST /billing/webhooks/stripe"


def label(method: str, template: str) -> str:
    return f"{method} {template}"


def operation_roles() -> dict[str, list[str] | None]:
    return {
        label(method.upper(), path): spec.get("x-roles")
        for path, item in contract.DOCUMENT["paths"].items()
        for method, spec in item.items()
    }


# ------------------------------------------------------------------------------------------------
# Tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(org_id: str, role: str) -> dict:
    now = int(time.time())
    return {
        "sub": "user_security",
        "org_id": org_id,
        "role": role,
        "iss": DEV_JWT_ISSUER,
        "aud": DEV_JWT_AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
    }


def _hmac_token(header: dict, claims: dict, key: bytes) -> str:
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def bad_token(kind: str, org_id: str) -> str | None:
    """A token claiming `owner` of `org_id` that the authorizer must refuse (None: no header)."""
    if kind == "none":
        return None
    if kind == "expired":
        return mint_token(org_id, "owner", expired=True)
    if kind == "wrong-iss":
        return mint_token(org_id, "owner", issuer="https://evil.example.com")
    if kind == "wrong-aud":
        return mint_token(org_id, "owner", audience="some-other-api")
    if kind == "alg-none":
        return mint_token(org_id, "owner", algorithm="none")
    if kind == "hs-pubkey":
        public_pem = (FIXTURES / "rsa-public.pem").read_bytes()
        return _hmac_token({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, _claims(org_id, "owner"), public_pem)
    if kind == "rs-hmac":
        return _hmac_token(
            {"alg": "RS256", "typ": "JWT", "kid": "rsa-1"}, _claims(org_id, "owner"), DEV_JWT_SECRET.encode()
        )
    if kind == "rs-idp":
        private_pem = (FIXTURES / "rsa-private.pem").read_bytes()
        return jwt.encode(_claims(org_id, "owner"), private_pem, algorithm="RS256", headers={"kid": "rsa-1"})
    if kind == "forged":
        return mint_token(org_id, "owner", secret="not-the-dev-secret-but-just-as-long-0123456789")
    raise ValueError(kind)


# ------------------------------------------------------------------------------------------------
# The matrix run


@dataclass
class Expect:
    status: int
    code: str | None = None  # the error envelope's code
    message: str | None = None  # API Gateway's own {"message": …}

    def __str__(self) -> str:
        return f"{self.status} {self.code or self.message or ''}".strip()


def body_for(row_body, org: Org):
    return {"payment_method_id": org.cards[1]} if row_body == "PM_SECOND" else row_body


def newest_invoice(stack, org: Org) -> str:
    invoices = requests.get(
        f"{stack.stripe}/v1/invoices",
        params={"customer": org.customer_id, "limit": 1},
        headers={"Authorization": f"Bearer {DEV_STRIPE_API_KEY}"},
        timeout=HTTP_TIMEOUT_S,
    ).json()["data"]
    assert invoices, f"{org.org_id} has no invoice yet"
    return invoices[0]["id"]


def path_for(template: str, org: Org, stack) -> str:
    if "/invoices/{id}" in template:
        return template.replace("{id}", newest_invoice(stack, org))
    return template.replace("{id}", org.cards[2])


def expected(row: tuple, column: str) -> Expect | None:
    method, template, _, success = row
    route = label(method, template)
    roles = operation_roles()[route]
    if route == WEBHOOK:
        # No authorizer: no JWT of any kind opens it; without a Stripe-Signature it is refused.
        return Expect(400, code="invalid_signature") if column != "cross-org" else None
    if column in ROLES:
        return Expect(success) if column in roles else Expect(403, code="forbidden")
    if column in BAD_TOKEN_COLUMNS:
        return Expect(401, message="Unauthorized")
    if column == "bad-role":
        return Expect(403, message="Forbidden")
    if column == "cross-org":
        inputs = id_inputs(route)
        if not inputs:
            return None
        return Expect(404, code=f"{inputs[0][1]}_not_found")
    raise ValueError(column)


def id_inputs(route: str) -> list[tuple[str, str]]:
    """What of a route names an object by id, from openapi.json: a path parameter
    (`/payment-methods/{id}` -> payment_method) or a body property `<kind>_id` (`payment_method_id`).
    Returns (where, kind): where is "path" or the property name. Every route that takes an id gets
    the cross-org cell — another org's real id must be answered as not found."""
    method, path = route.split(" ", 1)
    spec = contract.DOCUMENT["paths"][path][method.lower()]
    inputs = []
    for parameter in spec.get("parameters", []):
        if parameter.get("in") == "path":
            segment = path.split("/{" + parameter["name"] + "}")[0].rsplit("/", 1)[-1]
            inputs.append(("path", segment.rstrip("s").replace("-", "_")))
    schema = (spec.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema") or {}
    if "$ref" in schema:
        schema = contract.DOCUMENT["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    for name in sorted(schema.get("properties", {})):
        if name.endswith("_id") and name not in ("org_id",):
            inputs.append((name, name.removesuffix("_id")))
    return inputs


# Which of the victim's cards a cross-org cell names (the rows' own state keeps the others).
VICTIM_CARD = {"PUT /billing/payment-methods/default": 1, "DELETE /billing/payment-methods/{id}": 2}


def cross_org_request(row: tuple, victim: Org, stack) -> tuple[str, dict | None]:
    method, template, row_body, _ = row
    route = label(method, template)
    victims = {"payment_method": victim.cards[VICTIM_CARD.get(route, 0)]}
    if "/invoices/" in template:
        victims["invoice"] = newest_invoice(stack, victim)
    path, body = template, (dict(row_body) if isinstance(row_body, dict) else None)
    for where, kind in id_inputs(route):
        if where == "path":
            path = path.replace("{id}", victims[kind])
        else:
            body = {**(body or {}), where: victims[kind]}
    return path, body


class MatrixRun:
    def __init__(self, stack, customers_table):
        self.stack = stack
        self.customers_table = customers_table
        self.http = requests.Session()
        self.results: dict[tuple[str, str], report.Cell] = {}
        self.mutation_leaks: list[str] = []
        self.state_changes: list[str] = []
        self.detector_blind: list[str] = []  # allowed mutations the snapshot failed to see

    def call(self, method: str, path: str, token: str | None, body) -> requests.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        kwargs = {} if body is None else {"json": body}
        return self.http.request(method, self.stack.api + path, headers=headers, timeout=HTTP_TIMEOUT_S, **kwargs)

    def record(self, row: tuple, column: str, response: requests.Response | None, denied: bool, leak: int = 0):
        route = label(row[0], row[1])
        expect = expected(row, column)
        if expect is None:
            self.results[(route, column)] = report.Cell("-", "-", True)
            return
        note = ""
        ok = response.status_code == expect.status
        try:
            body = response.json()
        except ValueError:
            body, ok, note = None, False, f"not JSON: {response.text[:80]!r}"
        if ok and expect.code is not None:
            code = (body.get("error") or {}).get("code") if isinstance(body, dict) else None
            ok, note = code == expect.code, f"code {code!r}, expected {expect.code!r}"
        if ok and expect.message is not None:
            ok, note = body == {"message": expect.message}, f"body {body!r}"
        try:
            contract.check(response)
        except contract.ContractViolation as violation:
            ok, note = False, f"contract: {violation}"
        if denied and 200 <= response.status_code < 300:
            ok, note = False, "UNAUTHORIZED SUCCESS " + note
        if leak:
            ok, note = False, f"{leak} Stripe mutation(s) while denied " + note
            self.mutation_leaks.append(f"{route} × {column}")
        self.results[(route, column)] = report.Cell(str(expect), str(response.status_code), ok, "" if ok else note)

    def denied_call(self, row: tuple, column: str, token: str | None, org: Org, path: str | None = None, body=None):
        method, template, row_body, _ = row
        before = stripe_mutations(self.stack)
        response = self.call(
            method, path or path_for(template, org, self.stack), token, body if body is not None else body_for(row_body, org)
        )
        leak = stripe_mutations(self.stack) - before
        self.record(row, column, response, denied=True, leak=leak)

    def run(self) -> None:
        stack = self.stack
        roles_of = operation_roles()
        # 1. Everything that must be refused, against one fully set-up target org.
        target = prepare_org(self.http, stack, subscription=True)
        attacker = prepare_org(self.http, stack, subscription=False, cards=1)
        before = snapshot(stack, self.customers_table, target)
        viewer = mint_token(target.org_id, "viewer")
        unknown_role = mint_token(target.org_id, "superuser")
        for row in ROWS:
            route = label(row[0], row[1])
            allowed = roles_of[route] or []
            if route != WEBHOOK and "viewer" not in allowed:
                self.denied_call(row, "viewer", viewer, target)
            for column in BAD_TOKEN_COLUMNS:
                self.denied_call(row, column, bad_token(column, target.org_id), target)
            self.denied_call(row, "bad-role", unknown_role, target)
            if expected(row, "cross-org") is not None:
                path, body = cross_org_request(row, target, stack)
                self.denied_call(row, "cross-org", attacker.owner, target, path=path, body=body)
            else:
                self.record(row, "cross-org", None, denied=True)
        after = snapshot(stack, self.customers_table, target)
        for key in before:
            if before[key] != after[key]:
                self.state_changes.append(f"{key}: {before[key]!r} → {after[key]!r}")
        # 2. Each role on its own org, rows in order (the viewer's reads on the target org).
        for row in ROWS:
            route = label(row[0], row[1])
            if route == WEBHOOK or "viewer" in (roles_of[route] or []):
                response = self.call(row[0], path_for(row[1], target, stack), viewer, body_for(row[2], target))
                self.record(row, "viewer", response, denied=route == WEBHOOK)
        for role in ("admin", "owner"):
            org = prepare_org(self.http, stack, subscription=False)
            token = mint_token(org.org_id, role)
            start = snapshot(stack, self.customers_table, org)
            for row in ROWS:
                route = label(row[0], row[1])
                response = self.call(row[0], path_for(row[1], org, stack), token, body_for(row[2], org))
                self.record(row, role, response, denied=role not in (roles_of[route] or []))
            # The detector itself: an allowed role's mutations must show in the snapshot, or the
            # "no state change" check above could never fail.
            end = snapshot(stack, self.customers_table, org)
            for key in ("cards", "subscriptions"):
                if start[key] == end[key]:
                    self.detector_blind.append(f"{role}: {key} unchanged")


@pytest.fixture(scope="module")
def matrix(stack, customers_table) -> MatrixRun:
    run = MatrixRun(stack, customers_table)
    report.ROUTES[:] = [label(r[0], r[1]) for r in ROWS]
    report.COLUMNS[:] = COLUMNS
    try:
        run.run()
    finally:
        report.MATRIX.update(run.results)
        applicable = [c for c in run.results.values() if c.expected != "-"]
        report.tried(AREA, len(applicable), sum(not c.ok for c in applicable))
        for (route, column), cell in run.results.items():
            if not cell.ok:
                report.failed(AREA, f"{route} × {column}: expected {cell.expected}, got {cell.actual} {cell.note}")
        report.tried("viewer/bad-token state unchanged", 1, int(bool(run.state_changes)))
    return run


def test_the_matrix_covers_every_route_of_openapi():
    assert sorted(label(r[0], r[1]) for r in ROWS) == sorted(operation_roles())


def test_every_route_that_takes_an_id_has_its_cross_org_cell():
    """Derived from openapi.json, so a new route with an id (tomorrow: invoices) gets the cell."""
    with_ids = {route for route in operation_roles() if route != WEBHOOK and id_inputs(route)}
    assert with_ids, "openapi.json names no id: the derivation is broken"
    rows = {label(r[0], r[1]) for r in ROWS}
    assert with_ids <= rows, f"routes with ids but no row: {with_ids - rows}"
    cells = {label(r[0], r[1]) for r in ROWS if expected(r, "cross-org") is not None}
    assert cells == with_ids, (cells, with_ids)


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("row", ROWS, ids=[label(r[0], r[1]) for r in ROWS])
def test_cell(matrix, row, column):
    cell = matrix.results.get((label(row[0], row[1]), column))
    assert cell is not None, "cell not run"
    assert cell.ok, f"expected {cell.expected}, got {cell.actual}: {cell.note}"


def test_no_unauthorized_success(matrix):
    successes = [
        f"{route} × {column}: {cell.actual}"
        for (route, column), cell in matrix.results.items()
        if "UNAUTHORIZED SUCCESS" in cell.note
    ]
    assert successes == []


def test_denied_requests_reach_no_stripe_mutation(matrix):
    assert matrix.mutation_leaks == []


def test_denied_requests_change_no_state(matrix):
    assert matrix.state_changes == []


def test_the_state_check_sees_allowed_mutations(matrix):
    assert matrix.detector_blind == []
