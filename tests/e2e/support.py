"""Helpers for the end-to-end tests: the stack process, HTTP clients and assertions.

Everything talks to 127.0.0.1 only, and every HTTP call has a timeout so the suite always ends.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import contract
import requests
from stacklib import LOCAL_HOST, REPO_ROOT, VENV_BIN

HTTP_TIMEOUT_S = 30  # above the functions' own timeout, so the gateway answers first
STACK_READY_TIMEOUT_S = 300  # a cold `cargo build` included
STACK_STOP_TIMEOUT_S = 30


def free_ports(count: int) -> list[int]:
    """Ports free right now, distinct from each other (all held open until all are chosen)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((LOCAL_HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


# Every org a test made, so its Stripe test clock can be deleted when the test ends.
ORGS_CREATED: list[str] = []


def eventually(condition, seconds: float = 15.0):
    """Polls `condition` until it returns something truthy (returned), or fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def new_org_id() -> str:
    """A fresh organisation per test keeps tests independent of each other and of earlier runs."""
    org_id = f"org_e2e_{uuid.uuid4().hex[:16]}"
    ORGS_CREATED.append(org_id)
    return org_id


# The Stripe the suite talks to: the local fake (its keys are any sk_test_/pk_test_), or Stripe
# test mode (`make e2e-stripe`, keys from the environment).
STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "sk_test_local_dev")
STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "pk_test_local_dev")
CLOCK_READY_TIMEOUT_S = 60


class StripeApi:
    """What the suite asks Stripe through its public API only (so it runs against Stripe test
    mode too). Time travel is Stripe's Test Clocks API: the stack runs with STRIPE_TEST_CLOCKS, so
    each org's customer lives on its own clock, named `billing <org_id>`, and moving one org's
    time moves nobody else's."""

    def __init__(self, stripe_url: str, api_key: str = STRIPE_SECRET_KEY):
        self.base_url = stripe_url
        self.headers = {"Authorization": f"Bearer {api_key}"}

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(
            method, self.base_url + path, headers=self.headers, timeout=HTTP_TIMEOUT_S, **kwargs
        )
        assert response.status_code == 200, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def clocks_of(self, org_id: str) -> list[dict]:
        """Every clock named for the org (one, unless a bug made more; 100 per account: a page)."""
        clocks = self._call("GET", "/v1/test_helpers/test_clocks", params={"limit": 100})["data"]
        return [c for c in clocks if c.get("name") == f"billing {org_id}"]

    def clock_of(self, org_id: str) -> dict | None:
        clocks = self.clocks_of(org_id)
        assert len(clocks) <= 1, f"{org_id} has {len(clocks)} test clocks"
        return clocks[0] if clocks else None

    def customers_of_org(self, org_id: str) -> list[dict]:
        """The org's Stripe customers, found through the public API: the customers of its clocks
        (a list without `test_clock` leaves clock customers out) tagged with its org id."""
        customers = []
        for clock in self.clocks_of(org_id):
            listed = self._call("GET", "/v1/customers", params={"test_clock": clock["id"], "limit": 100})
            customers += [c for c in listed["data"] if (c.get("metadata") or {}).get("org_id") == org_id]
        return sorted(customers, key=lambda c: c["created"])

    def get(self, path: str, **params) -> dict:
        return self._call("GET", path, params=params)

    def clock_now(self, org_id: str) -> int:
        clock = self.clock_of(org_id)
        assert clock, f"{org_id} has no test clock (is the stack running with STRIPE_TEST_CLOCKS?)"
        return clock["frozen_time"]

    def advance_clock_to(self, org_id: str, moment: int) -> None:
        """Moves the org's clock to `moment` (forward only) and waits until Stripe is `ready`."""
        clock = self.clock_of(org_id)
        assert clock, f"{org_id} has no test clock"
        if moment <= clock["frozen_time"]:
            return
        self._call("POST", f"/v1/test_helpers/test_clocks/{clock['id']}/advance", data={"frozen_time": moment})
        deadline = time.monotonic() + CLOCK_READY_TIMEOUT_S
        while time.monotonic() < deadline:
            status = self._call("GET", f"/v1/test_helpers/test_clocks/{clock['id']}")["status"]
            if status == "ready":
                return
            assert status == "advancing", f"clock {clock['id']}: {status}"
            time.sleep(0.5)
        raise AssertionError(f"clock {clock['id']} still advancing after {CLOCK_READY_TIMEOUT_S} s")

    def advance_clock_by(self, org_id: str, seconds: int) -> None:
        self.advance_clock_to(org_id, self.clock_now(org_id) + seconds)

    def delete_clocks_of(self, org_ids: list[str]) -> None:
        """Deletes the clocks of these orgs (and with them their customers), freeing the account's
        100-clock allowance."""
        clocks = self._call("GET", "/v1/test_helpers/test_clocks", params={"limit": 100})["data"]
        names = {f"billing {org_id}" for org_id in org_ids}
        for clock in clocks:
            if clock.get("name") in names:
                self._call("DELETE", f"/v1/test_helpers/test_clocks/{clock['id']}")


class StackProcess:
    """scripts/dev_stack.py run for the test session, in its own process group."""

    def __init__(self, name: str, **options: str | int | bool):
        """`options` are dev_stack.py's: `api_port=3000` stands for `--api-port 3000`, True for a flag."""
        self.name = name
        self.log_dir = REPO_ROOT / ".dev" / "logs" / name
        self._ready_file = self.log_dir / "ready"
        self._args = []
        for option, value in options.items():
            flag = "--" + option.replace("_", "-")
            self._args += [flag] if value is True else [flag, str(value)]
        self._process: subprocess.Popen | None = None

    @property
    def output_path(self) -> Path:
        return self.log_dir / "dev-stack.log"

    def start(self) -> str:
        """Starts the stack and returns its API base URL once it is ready."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._ready_file.unlink(missing_ok=True)
        with open(self.output_path, "wb") as output:
            self._process = subprocess.Popen(
                [
                    str(VENV_BIN / "python"),
                    str(REPO_ROOT / "scripts" / "dev_stack.py"),
                    "--ready-file",
                    str(self._ready_file),
                    "--log-dir",
                    str(self.log_dir),
                    *self._args,
                ],
                cwd=REPO_ROOT,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                process_group=0,
            )
        deadline = time.monotonic() + STACK_READY_TIMEOUT_S
        while not self._ready_file.exists():
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} stack exited with code {self._process.returncode}:\n{self._output_tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"{self.name} stack not ready after {STACK_READY_TIMEOUT_S}s:\n{self._output_tail()}"
                )
            time.sleep(0.25)
        return self._ready_file.read_text().strip()

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=STACK_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()

    def _output_tail(self, lines: int = 60) -> str:
        text = self.output_path.read_text(errors="replace") if self.output_path.exists() else ""
        return (
            "\n".join(text.splitlines()[-lines:]) + f"\n(full output: {self.output_path}; service logs: {self.log_dir})"
        )


class Api:
    """The billing API through the local gateway."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.session = requests.Session()

    def request(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = self.session.request(method, self.base_url + path, headers=headers, timeout=HTTP_TIMEOUT_S, **kwargs)
        contract.check(response)
        return response

    def get_customer(self, token: str | None) -> requests.Response:
        return self.request("GET", "/billing/customer", token)

    def ensure_customer(self, token: str | None, **kwargs) -> requests.Response:
        return self.request("POST", "/billing/customer", token, **kwargs)


class StripeFake:
    """The fake Stripe's private control API (no auth): faults and request counts. Tests that use
    it are marked `fake_only`; against Stripe test mode they are skipped."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def _call(self, method: str, path: str, **kwargs) -> dict:
        response = requests.request(method, self.base_url + path, timeout=HTTP_TIMEOUT_S, **kwargs)
        response.raise_for_status()
        return response.json()

    def request_total(self) -> int:
        return self._call("GET", "/_fake/requests")["total"]

    def settle_webhooks(self, timeout_s: float = 20) -> None:
        """Waits until no delivery is pending, so webhook-driven writes are done; fails (rather
        than going on with deliveries in flight) when they do not settle in time."""
        deadline = time.monotonic() + timeout_s
        while True:
            deliveries = self._call("GET", "/_fake/webhooks/deliveries")["data"]
            pending = [d for d in deliveries if d["status"] in ("pending", "held")]
            if not pending:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(pending)} webhook deliveries still pending after {timeout_s} s: {pending[:3]}")
            time.sleep(0.2)

    @contextmanager
    def down(self, status: int = 503):
        """Every Stripe API call answers `status` until the block ends."""
        self._call("POST", "/_fake/faults", json={"route": "*", "kind": "status", "status": status})
        try:
            yield
        finally:
            self._call("DELETE", "/_fake/faults")


def assert_error(response: requests.Response, status: int, code: str | None = None) -> dict:
    """The API's error envelope `{"error": {"code", "message", "request_id"}}`; returns `error`."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    error = response.json().get("error")
    assert isinstance(error, dict), f"no error envelope: {response.text}"
    assert isinstance(error.get("code"), str) and error["code"], response.text
    assert isinstance(error.get("message"), str) and error["message"], response.text
    assert isinstance(error.get("request_id"), str) and error["request_id"], response.text
    if code is not None:
        assert error["code"] == code, response.text
    return error


def assert_gateway_message(response: requests.Response, status: int, message: str) -> None:
    """API Gateway's own answers (authorizer denials) are `{"message": ...}`, not the envelope."""
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {response.text}"
    assert response.json() == {"message": message}


APP = "http://127.0.0.1:3001"  # AppPublicUrl of the local stack (the web app's origin)


def add_card(api: Api, stack, org_id: str, token: str = "pm_card_visa") -> str:
    """Adds a card the way the browser does: a SetupIntent from the API, confirmed as Stripe.js
    would, with the publishable key and the client secret. Returns the payment method id."""
    from stacklib import mint_token

    intent = api.request("POST", "/billing/setup-intents", mint_token(org_id, "owner"), json={})
    assert intent.status_code == 201, intent.text
    body = intent.json()
    confirmed = requests.post(
        f"{stack.stripe}/v1/setup_intents/{body['id']}/confirm",
        headers={"Authorization": f"Bearer {STRIPE_PUBLISHABLE_KEY}"},
        data={"client_secret": body["client_secret"], "payment_method": token, "return_url": f"{APP}/billing"},
        timeout=HTTP_TIMEOUT_S,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "succeeded"
    return confirmed.json()["payment_method"]


@dataclass(frozen=True)
class StackUrls:
    api: str
    stripe: str
    moto: str
    log_dir: Path | None = None  # None for a stack this session did not start


def start_process(process: StackProcess, request) -> str:
    """Starts `process` for the test session; its finalizer is registered first, so a stack that
    fails half-way is still stopped. Returns the gateway's URL."""
    request.addfinalizer(process.stop)
    return process.start()


def start_stack(request, name: str, **options: str | int | bool) -> StackUrls:
    """A whole stack (moto, fake Stripe, functions, gateway) on free 127.0.0.1 ports."""
    api_port, stripe_port, moto_port, watch_port = free_ports(4)
    # `options` may fix a port (the one `stripe listen` forwards to) or name an external Stripe.
    options = {"api_port": api_port, "stripe_port": stripe_port, "moto_port": moto_port, "watch_port": watch_port} | options
    process = StackProcess(name, **options)
    api_url = start_process(process, request)
    stripe_url = str(options.get("stripe_url") or f"http://{LOCAL_HOST}:{options['stripe_port']}")
    return StackUrls(api_url, stripe_url, f"http://{LOCAL_HOST}:{options['moto_port']}", process.log_dir)
