"""No secret in any log line: drive requests that carry every kind of secret through this suite's
own stack (JWTs good and bad, SetupIntent and PaymentIntent client secrets, signed webhook
deliveries using the webhook secret, Stripe calls using the API key), then scan the stack's log
directory with scan_logs.py for the patterns and for the exact values seen. Runs last (file
order), so the matrix's and the fuzzer's traffic is scanned too.

The Makefile runs the same scanner on the end-to-end suite's logs (.dev/logs/e2e and
.dev/logs/e2e-billing-disabled) after `pytest tests/e2e`.
"""

from __future__ import annotations

import time

import pytest
import report
import requests
import scan_logs
from stacklib import mint_token
from state import prepare_org, settle_webhooks, wait_for_quiet_logs
from support import HTTP_TIMEOUT_S, new_org_id

AREA = "secrets in logs"


def test_scanner_fails_loudly_on_nothing(tmp_path):
    with pytest.raises(scan_logs.NothingToScan):
        scan_logs.scan([tmp_path / "missing"])
    with pytest.raises(scan_logs.NothingToScan):
        scan_logs.scan([tmp_path])  # exists, empty
    (tmp_path / "functions.log").write_text("")
    with pytest.raises(scan_logs.NothingToScan):
        scan_logs.scan([tmp_path])  # only an empty file
    assert scan_logs.main([str(tmp_path)]) == 2


def test_scanner_finds_each_kind_of_secret(tmp_path):
    token = mint_token("org_x", "owner")
    planted = {
        "stripe-api-key": "calling stripe with key sk_test_local_dev",
        "webhook-secret": "secret=whsec_0123456789abcdefABCDEF0123456789",
        "client-secret": "intent seti_1AbCdEf_secret_XyZ123 created",
        "jwt": f"authorization: Bearer {token}",
        "jwt-signing-key": "hs256 key local-dev-only-hs256-secret-do-not-use-in-prod",
        "literal": "custom value s3cr3t-value-42",
    }
    (tmp_path / "functions.log").write_text("INFO clean line\n" + "\n".join(planted.values()) + "\n")
    hits, files, lines = scan_logs.scan([tmp_path], ["s3cr3t-value-42"])
    assert {h.kind for h in hits} >= set(planted), hits
    assert all("s3cr3t-value-42" not in h.masked_line and token not in h.masked_line for h in hits)
    assert scan_logs.main([str(tmp_path)]) == 1
    (tmp_path / "functions.log").write_text("INFO clean line\n")
    assert scan_logs.main([str(tmp_path)]) == 0


def test_no_secret_reaches_the_logs(stack, stripe_secret):
    http = requests.Session()
    values: list[str] = [stripe_secret["api_key"], stripe_secret["webhook_secret"]]
    assert stripe_secret["webhook_secret"].startswith("whsec_")

    # Good tokens of every role, through authorizer and functions.
    org = prepare_org(http, stack, subscription=False)
    for role in ("owner", "admin", "viewer"):
        token = mint_token(org.org_id, role)
        values.append(token)
        assert http.get(f"{stack.api}/billing/customer", headers={"Authorization": f"Bearer {token}"},
                        timeout=HTTP_TIMEOUT_S).status_code == 200
    # Refused tokens (logged as "token rejected" by the authorizer: the reason, never the token).
    for bad in (mint_token(org.org_id, "owner", expired=True), mint_token(org.org_id, "owner", secret="x" * 40),
                mint_token(org.org_id, "superuser"), mint_token(org.org_id, "owner", algorithm="none")):
        values.append(bad)
        status = http.get(f"{stack.api}/billing/customer", headers={"Authorization": f"Bearer {bad}"},
                          timeout=HTTP_TIMEOUT_S).status_code
        assert status in (401, 403)
    owner = {"Authorization": f"Bearer {mint_token(org.org_id, 'owner')}"}

    # SetupIntent client secrets (also replayed under an Idempotency-Key).
    for key in ("secrets-a", "secrets-a", "secrets-b"):
        intent = http.post(f"{stack.api}/billing/setup-intents", json={}, headers={**owner, "Idempotency-Key": key},
                           timeout=HTTP_TIMEOUT_S)
        assert intent.status_code == 201, intent.text
        secret = intent.json()["client_secret"]
        assert secret.startswith("seti_") and "_secret_" in secret
        values.append(secret)

    # A PaymentIntent client secret: a subscription whose first payment needs the customer.
    cardless = new_org_id()
    cardless_owner = {"Authorization": f"Bearer {mint_token(cardless, 'owner')}"}
    started = http.post(f"{stack.api}/billing/subscription", json={"plan": "pro_monthly"}, headers=cardless_owner,
                        timeout=HTTP_TIMEOUT_S)
    assert started.status_code == 201, started.text
    payment_secret = started.json()["client_secret"]
    assert payment_secret and payment_secret.startswith("pi_") and "_secret_" in payment_secret, started.text
    values.append(payment_secret)

    # Webhooks: the fake signs deliveries with the webhook secret; a forged one is refused.
    forged = http.post(f"{stack.api}/billing/webhooks/stripe", data=b'{"id":"evt_x","type":"customer.updated"}',
                       headers={"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}",
                                "Content-Type": "application/json"}, timeout=HTTP_TIMEOUT_S)
    assert forged.status_code == 400
    settle_webhooks(stack)
    wait_for_quiet_logs(stack.log_dir)

    hits, files, lines = scan_logs.scan([stack.log_dir], values)
    report.tried(AREA, len(values), len(hits))
    report.note(f"secrets scan of {stack.log_dir}: {files} files, {lines} lines, {len(values)} exact values "
                f"+ {len(scan_logs.PATTERNS)} patterns, {len(hits)} hits")
    for hit in hits:
        report.failed(AREA, str(hit))
    assert hits == [], "\n".join(str(h) for h in hits[:10])
