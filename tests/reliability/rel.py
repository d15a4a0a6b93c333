"""Shared pieces of the reliability suite: the scale knob, the case ledger behind the summary
table, fake-Stripe helpers and the multiprocessing workers (importable, so `spawn` children find
them)."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import requests

HTTP_TIMEOUT_S = 30
SECRET_KEY = {"Authorization": "Bearer sk_test_local_dev"}


def _scale() -> int:
    raw = os.environ.get("RELIABILITY_SCALE", "1")
    try:
        value = int(raw)
    except ValueError as error:
        raise SystemExit(f"RELIABILITY_SCALE must be a positive integer, got {raw!r}") from error
    if value < 1:
        raise SystemExit(f"RELIABILITY_SCALE must be >= 1, got {value}")
    return value


# RELIABILITY_SCALE=1 (default, CI): one race of 100 concurrent ensures, 20 concurrent plan changes,
# 500 webhook events x3 on 16 orgs, and the fault matrix with every step of every mutation under one
# rotating fault kind. N: N ensure races, 20N plan changes, 500N events on 16N orgs, and from 2 on
# the full matrix (every step x every kind x both phases, timeouts held on every attempt).
SCALE = _scale()
FULL_MATRIX = SCALE >= 2 or os.environ.get("RELIABILITY_FULL_MATRIX") == "1"
# Known product bugs are listed in the summary without failing the run, unless this is set.


def new_org_id(prefix: str = "org_rel") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


# ------------------------------------------------------------------------------------------------
# Ledger: every case tried, for the summary table


class Ledger:
    def __init__(self):
        self._lock = threading.Lock()
        self.cases: dict[str, list[tuple[str, bool, str]]] = defaultdict(list)
        self.figures: list[str] = []
        self.findings: list[str] = []

    def record(self, group: str, case: str, ok: bool, detail: str = "") -> None:
        with self._lock:
            self.cases[group].append((case, ok, detail))

    def figure(self, line: str) -> None:
        with self._lock:
            self.figures.append(line)

    def table(self) -> list[str]:
        rows = [("group", "cases", "failures")]
        total = failures = 0
        for group in sorted(self.cases):
            entries = self.cases[group]
            failed = sum(1 for _, ok, _ in entries if not ok)
            rows.append((group, str(len(entries)), str(failed)))
            total += len(entries)
            failures += failed
        rows.append(("TOTAL", str(total), str(failures)))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = [f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}" for r in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        return lines

    def failed_cases(self) -> list[str]:
        return [
            f"{group}: {case}: {detail}"
            for group, entries in sorted(self.cases.items())
            for case, ok, detail in entries
            if not ok
        ]


LEDGER = Ledger()


# ------------------------------------------------------------------------------------------------
# The fake Stripe


class Stripe:
    """The fake's Stripe API (secret key) and control API."""

    def __init__(self, base_url: str):
        self.base = base_url
        self.session = requests.Session()

    def v1(self, method: str, path: str, **kwargs) -> dict:
        response = self.session.request(
            method, self.base + path, headers=SECRET_KEY, timeout=HTTP_TIMEOUT_S, **kwargs
        )
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text[:300]}"
        return response.json()

    def control(self, method: str, path: str, **kwargs) -> dict:
        response = self.session.request(method, self.base + "/_fake" + path, timeout=HTTP_TIMEOUT_S, **kwargs)
        response.raise_for_status()
        return response.json()

    def list_all(self, path: str, **params) -> list[dict]:
        items, after = [], None
        while True:
            query = {"limit": 100, **params}
            if after:
                query["starting_after"] = after
            page = self.v1("GET", path, params=query)
            items += page["data"]
            if not page["has_more"] or not page["data"]:
                return items
            after = page["data"][-1]["id"]

    def customers_of_org(self, org_id: str, include_deleted: bool = False) -> list[dict]:
        return [
            c
            for c in self.control("GET", "/customers")["data"]
            if (c.get("metadata") or {}).get("org_id") == org_id and (include_deleted or not c.get("deleted"))
        ]

    def subscriptions_of(self, customer: str) -> list[dict]:
        return self.list_all("/v1/subscriptions", customer=customer, status="all")

    def live_schedules_of(self, customer: str) -> list[dict]:
        schedules = self.list_all("/v1/subscription_schedules", customer=customer)
        return [s for s in schedules if s["status"] in ("not_started", "active")]

    def invoices_of(self, customer: str) -> list[dict]:
        return self.list_all("/v1/invoices", customer=customer)

    def attached_cards(self, customer: str) -> list[dict]:
        return self.list_all(f"/v1/customers/{customer}/payment_methods")

    def price_id(self, lookup_key: str) -> str:
        return self.v1("GET", "/v1/prices", params={"lookup_keys[]": lookup_key})["data"][0]["id"]

    def requests_by_route(self) -> dict[str, int]:
        return self.control("GET", "/requests")["by_route"]

    def reset_requests(self) -> None:
        self.control("POST", "/requests/reset")

    def fault(self, route: str, kind: str, when: str = "before", times: int | None = None, **extra) -> dict:
        body = {"route": route, "kind": kind, "when": when, **extra}
        if times is not None:
            body["times"] = times
        return self.control("POST", "/faults", json=body)

    def clear_faults(self) -> int:
        """Clears every fault; returns how many requests faults hit since the last clear."""
        return self.control("DELETE", "/faults")["fired"]

    def webhook_mode(self, **mode) -> dict:
        return self.control("POST", "/webhooks/mode", json=mode)

    def flush(self) -> int:
        return self.control("POST", "/webhooks/flush")["flushed"]

    def deliveries(self) -> list[dict]:
        return self.control("GET", "/webhooks/deliveries")["data"]


def eventually(condition, seconds: float = 30.0, interval: float = 0.25):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


# ------------------------------------------------------------------------------------------------
# Multiprocessing worker: one process fires `calls` requests from `threads` threads at `start_at`


def fire(job: dict) -> list[dict]:
    """Runs in a child process. job: url, method, token, json, headers, calls, threads, start_at.
    Returns one dict per call: status, body (parsed if JSON), retry_after, seconds, pid."""
    import contract  # validates every answer against openapi.json, in the child too

    def one(_index: int) -> dict:
        session = requests.Session()
        headers = {"Authorization": f"Bearer {job['token']}", **job.get("headers", {})}
        delay = job["start_at"] - time.time()
        if delay > 0:
            time.sleep(delay)
        started = time.monotonic()
        try:
            response = session.request(
                job["method"], job["url"], headers=headers, json=job.get("json"), timeout=HTTP_TIMEOUT_S
            )
        except requests.RequestException as error:
            return {"status": None, "body": str(error), "seconds": time.monotonic() - started, "pid": os.getpid()}
        elapsed = time.monotonic() - started
        contract_error = None
        try:
            contract.check(response)
        except AssertionError as error:
            contract_error = str(error)
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return {
            "status": response.status_code,
            "body": body,
            "retry_after": response.headers.get("Retry-After"),
            "seconds": elapsed,
            "pid": os.getpid(),
            "contract_error": contract_error,
        }

    with ThreadPoolExecutor(max_workers=job["threads"]) as pool:
        return list(pool.map(one, range(job["calls"])))
