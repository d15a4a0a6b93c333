#!/usr/bin/env python3
"""Starts the local stack on 127.0.0.1 and keeps it running until Ctrl-C: `make dev`'s engine.

    moto_server          DynamoDB tables and Secrets Manager secrets, from template.yaml
    stripe-fake          the project's Stripe fake, with the gateway's webhook route registered
    cargo lambda watch   every function of the workspace, with the template's environment
    local_gateway.py     the HTTP API: routes, Lambda authorizer, v2 events
    web (optional)       the billing web app (web/, Next.js) on --web-port, talking to the gateway

Every child runs in its own process group and logs to --log-dir (the gateway's request lines go to
stdout). If one of them (or a function process under watch) dies, or on SIGINT/SIGTERM, all of
them are stopped. With --reuse-backends only the functions and the gateway start, attached to the
moto and fake already running on the given ports (the end-to-end tests use this for a second,
billing-disabled stack).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stacklib import (
    DEV_JWT_SECRET,
    DEV_JWT_SECRET_NAME,
    DEV_STRIPE_API_KEY,
    LOCAL_HOST,
    LOCAL_PARAMETER_OVERRIDES,
    LOCAL_REGION,
    REPO_ROOT,
    TEMPLATE_PATH,
    VENV_BIN,
    Template,
    TemplateError,
    aws_client,
    create_tables,
)

STARTUP_TIMEOUT_S = 60  # per service, once the binaries are built
STOP_GRACE_S = 10
LOG_TAIL_LINES = 30
WATCH_INSTANCE_EXITED = "command exited"  # what cargo lambda watch logs when a function process ends
WEB_DIR = REPO_ROOT / "web"
DEFAULT_WEB_PORT = 3001
WEB_STARTUP_TIMEOUT_S = 180  # `next dev` compiles the probed route on its first request

# A developer's real AWS identity must never reach the functions (everything goes to moto), and
# locally the functions log text, not JSON.
SCRUBBED_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_LAMBDA_LOG_FORMAT")

class StackError(Exception):
    """Starting or running the stack failed; the message says which service and why."""


class Shutdown(Exception):
    """A stop signal arrived."""


# ------------------------------------------------------------------------------------------------
# Child processes


def _die_with_parent_hook() -> Callable[[], None] | None:
    """A pre-exec hook asking Linux to SIGTERM the child if this process dies without cleaning up
    (e.g. SIGKILL), so no service outlives the stack. Safe here: this process has no threads."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    pr_set_pdeathsig = 1
    return lambda: prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log_path: Path
    log_offset: int = 0

    def exit_code(self) -> int | None:
        return self.process.poll()

    def read_new_log_lines(self) -> str:
        """The complete lines logged since the last call."""
        with open(self.log_path, "rb") as log:
            log.seek(self.log_offset)
            data = log.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.log_offset += len(complete)
        return complete.decode(errors="replace")

    def log_excerpt(self) -> str:
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            lines = []
        return f"last lines of {self.log_path}:\n" + "\n".join(lines[-LOG_TAIL_LINES:])


class Supervisor:
    def __init__(self, log_dir: Path):
        self._log_dir = log_dir
        self._children: list[Child] = []
        self._pre_exec = _die_with_parent_hook()

    def start(
        self, name: str, argv: list[str], env: dict[str, str] | None = None, stdout_to_terminal: bool = False
    ) -> Child:
        self._log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self._log_dir / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                argv,
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=None if stdout_to_terminal else log,
                stderr=log,
                process_group=0,  # Ctrl-C reaches only us; we stop each group in turn
                preexec_fn=self._pre_exec,
            )
        child = Child(name, process, log_path)
        self._children.append(child)
        return child

    def check_alive(self) -> None:
        for child in self._children:
            code = child.exit_code()
            if code is not None:
                raise StackError(f"{child.name} exited with code {code}; {child.log_excerpt()}")

    def stop_all(self) -> None:
        """SIGTERM to every group at once (newest first), SIGKILL to what is left after the grace."""
        running = [c for c in reversed(self._children) if c.exit_code() is None]
        for child in running:
            _signal_group(child.process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in running:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"dev-stack: {child.name} ignored SIGTERM; killing it", file=sys.stderr)
            # Also reaches grandchildren left in the group (function instances under watch).
            _signal_group(child.process, signal.SIGKILL)
            child.process.wait()
        self._children.clear()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
        os.killpg(process.pid, signum)


def wait_until_healthy(
    child: Child | None, what: str, probe: Callable[[], bool], timeout_s: float = STARTUP_TIMEOUT_S
) -> None:
    """Polls `probe` until it holds; fails early, with the log tail, if the child exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        if child is not None and child.exit_code() is not None:
            raise StackError(f"{what} exited with code {child.exit_code()} while starting; {child.log_excerpt()}")
        try:
            if probe():
                return
        except (OSError, ValueError):
            pass  # not listening yet, or not answering sensibly yet
        if time.monotonic() >= deadline:
            excerpt = f"; {child.log_excerpt()}" if child else ""
            raise StackError(f"{what} was not healthy after {timeout_s:.0f}s{excerpt}")
        time.sleep(0.2)


def http_json(
    method: str, url: str, data: bytes | None = None, headers: dict | None = None, timeout_s: float = 5
) -> tuple[int, object]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOCAL_HOST, port)) == 0


# ------------------------------------------------------------------------------------------------
# Services


def build_functions() -> None:
    # Built up front so that `cargo lambda watch` never compiles on the first request.
    # The workspace's default members, with the features `cargo lambda watch` builds them with.
    print("dev-stack: cargo build --bins", file=sys.stderr, flush=True)
    if subprocess.run(["cargo", "build", "--bins"], cwd=REPO_ROOT).returncode != 0:
        raise StackError("cargo build --bins failed (output above)")


def moto_is_healthy(moto_url: str) -> bool:
    return http_json("GET", f"{moto_url}/moto-api/data.json")[0] == 200


def stripe_fake_is_healthy(stripe_url: str) -> bool:
    return http_json("GET", f"{stripe_url}/_fake/health")[0] == 200


def register_webhook_endpoint(template: Template, stripe_url: str, api_port: int, api_version: str | None) -> str:
    """Points the fake's webhooks at the gateway's unauthenticated route (events rendered in
    `api_version`, the fake's own when None); returns its whsec_."""
    routes = template.webhook_routes()
    if not routes:  # no webhook route yet: any well-formed secret will do
        return f"whsec_local_{secrets.token_hex(16)}"
    if len(routes) > 1:
        keys = ", ".join(r.route_key for r in routes)
        raise StackError(f"expected one unauthenticated POST route (the Stripe webhook), found: {keys}")
    fields = {"url": f"http://{LOCAL_HOST}:{api_port}{routes[0].path}", "enabled_events[]": "*"}
    if api_version:
        fields["api_version"] = api_version
    form = urllib.parse.urlencode(fields)
    status, endpoint = http_json(
        "POST",
        f"{stripe_url}/v1/webhook_endpoints",
        data=form.encode(),
        headers={"Authorization": f"Bearer {DEV_STRIPE_API_KEY}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    if status != 200 or not str(endpoint.get("secret", "")).startswith("whsec_"):
        raise StackError(f"stripe-fake refused the webhook endpoint: {status} {endpoint}")
    return endpoint["secret"]


def create_secrets(template: Template, moto_url: str, api_key: str, webhook_secret: str) -> None:
    secretsmanager = aws_client("secretsmanager", moto_url)
    stripe_secret = {"api_key": api_key, "webhook_secret": webhook_secret}
    secretsmanager.create_secret(Name=template.parameters["StripeSecretName"], SecretString=json.dumps(stripe_secret))
    secretsmanager.create_secret(Name=DEV_JWT_SECRET_NAME, SecretString=DEV_JWT_SECRET)


def external_stripe_keys() -> tuple[str, str]:
    """The test-mode key (STRIPE_SECRET_KEY) and, when Stripe's deliveries are forwarded here
    (`stripe listen --forward-to …`), their signing secret (STRIPE_WEBHOOK_SECRET)."""
    api_key = os.environ.get("STRIPE_SECRET_KEY", "")
    if not api_key.startswith(("sk_test_", "rk_test_")):
        raise StackError("--stripe-url needs STRIPE_SECRET_KEY=sk_test_… (test mode only)")
    return api_key, os.environ.get("STRIPE_WEBHOOK_SECRET") or f"whsec_not_forwarded_{secrets.token_hex(8)}"


def functions_environment(template: Template, moto_url: str, stripe_url: str) -> dict[str, str]:
    """The environment `cargo lambda watch` passes on to every function instance: the template's
    variables (one watch serves all functions, so they must agree) plus the local endpoints."""
    env: dict[str, str] = {}
    owners: dict[str, str] = {}
    for function in template.functions().values():
        for name, value in function.env.items():
            if name in env and env[name] != value:
                raise StackError(
                    f"{name} differs between {owners[name]} and {function.logical_id}; "
                    "one cargo lambda watch cannot give functions different values"
                )
            env[name], owners[name] = value, function.logical_id
    env.update(
        AWS_ENDPOINT_URL=moto_url,
        AWS_REGION=LOCAL_REGION,
        AWS_DEFAULT_REGION=LOCAL_REGION,
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        STRIPE_API_BASE=stripe_url,
        RUST_LOG=os.environ.get("RUST_LOG", "info"),
        NO_COLOR="1",  # the logs go to a file
    )
    return env


def watch_knows_functions(watch_url: str, binaries: list[str]) -> bool:
    """Watch answers `GET /` with a 404 listing the workspace's functions: proof it is up, and a
    check that every function of the template is a binary of the workspace."""
    status, document = http_json("GET", f"{watch_url}/")
    detail = str((document or {}).get("detail", ""))
    missing = [b for b in binaries if f'"{b}"' not in detail]
    if status == 404 and missing:
        raise StackError(f"cargo lambda watch does not know the functions {missing}: {detail}")
    return status == 404


# ------------------------------------------------------------------------------------------------
# The stack


def parse_args() -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--api-port", type=int, default=int(env("API_PORT", 3000)))
    parser.add_argument("--stripe-port", type=int, default=int(env("STRIPE_PORT", 12111)))
    parser.add_argument("--moto-port", type=int, default=int(env("MOTO_PORT", 5055)))
    parser.add_argument("--watch-port", type=int, default=int(env("WATCH_PORT", 9000)))
    parser.add_argument("--enable-billing", choices=["true", "false"], default=env("ENABLE_BILLING", "true"))
    parser.add_argument(
        "--concurrency",
        type=int,
        default=int(env("LAMBDA_CONCURRENCY", 1)),
        # Watch starts all of a function's instances on its first request, each through `cargo run`
        # (~0.6 s, one at a time), so more instances make first requests slower.
        help="instances per function; above 1, concurrent requests to one function run in parallel",
    )
    parser.add_argument(
        "--stripe-url",
        default=env("STRIPE_URL") or None,
        help="use this Stripe (test mode, key in STRIPE_SECRET_KEY) instead of starting the fake",
    )
    parser.add_argument(
        "--stripe-test-clocks",
        action="store_true",
        default=env("STRIPE_TEST_CLOCKS", "false") == "true",
        help="create each org's Stripe customer on its own test clock (the e2e suite's time control)",
    )
    parser.add_argument(
        "--webhook-api-version",
        default=env("WEBHOOK_API_VERSION", None),
        help="API version of the fake's webhook endpoint (default: the fake's, 2026-09-30.endive)",
    )
    parser.add_argument("--ready-file", type=Path, help="written with the API base URL once everything is healthy")
    parser.add_argument(
        "--reuse-backends", action="store_true", help="attach to the moto and stripe-fake already running"
    )
    parser.add_argument("--log-dir", type=Path, default=REPO_ROOT / ".dev" / "logs")
    web = parser.add_argument_group(
        "web app",
        "The billing web app (web/) as one more child. Interactive runs start it on WEB_PORT or "
        f"{DEFAULT_WEB_PORT}; runs with --ready-file or --reuse-backends (the tests) start it only "
        "when --web-port is given.",
    )
    web.add_argument("--web-port", type=int, help=f"default: WEB_PORT or {DEFAULT_WEB_PORT}")
    web.add_argument("--no-web", action="store_true", help="do not start the web app")
    web.add_argument(
        "--web-mode",
        choices=["dev", "start"],
        default=env("WEB_MODE", "dev"),
        help="dev: `next dev` (hot reload, default); start: `next start` of an existing `next build`",
    )
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    return parser.parse_args()


class LocalStack:
    def __init__(self, args: argparse.Namespace, supervisor: Supervisor):
        self.args = args
        self.supervisor = supervisor
        self.base_url = f"http://{LOCAL_HOST}:{args.api_port}"
        # --stripe-url: an external Stripe (test mode) instead of the fake started here.
        self.external_stripe = args.stripe_url is not None
        self.stripe_url = args.stripe_url or f"http://{LOCAL_HOST}:{args.stripe_port}"
        self.moto_url = f"http://{LOCAL_HOST}:{args.moto_port}"
        self.watch_url = f"http://{LOCAL_HOST}:{args.watch_port}"
        self.web_port = web_port_of(args)
        # Portal return URLs must land on the web app's own origin (its session cookie's host).
        app_url = f"http://{LOCAL_HOST}:{self.web_port or DEFAULT_WEB_PORT}"
        self.template = Template.load(
            args.template,
            {
                **LOCAL_PARAMETER_OVERRIDES,
                "EnableBilling": args.enable_billing,
                "AppPublicUrl": app_url,
                "StripeTestClocks": "true" if args.stripe_test_clocks else "false",
            },
        )
        self.child_env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        self.child_env["PATH"] = (
            f"{VENV_BIN}{os.pathsep}{self.child_env.get('PATH', '')}"  # cargo-lambda finds zig there
        )

    def run(self) -> None:
        """Starts everything, announces it, then watches over the children until told to stop."""
        self.check_ports_are_free()
        if self.args.reuse_backends:
            self.check_backends()
        build_functions()
        if not self.args.reuse_backends:
            self.start_backends()
        functions = self.start_functions()
        self.start_gateway()
        if self.web_port is not None:
            self.start_web()
        self.announce_ready()
        parent = os.getppid()
        while True:
            self.supervisor.check_alive()
            # Watch neither answers nor restarts a function instance whose process exits: every
            # later call to that function would hang until the gateway's timeout.
            if WATCH_INSTANCE_EXITED in functions.read_new_log_lines():
                raise StackError(f"a function process exited; {functions.log_excerpt()}")
            if os.getppid() != parent:  # whoever started us is gone (e.g. a killed test run)
                raise Shutdown()
            time.sleep(0.5)

    def check_ports_are_free(self) -> None:
        ports = {"gateway": self.args.api_port, "cargo lambda watch": self.args.watch_port}
        if not self.args.reuse_backends:
            ports["moto"] = self.args.moto_port
            if not self.external_stripe:
                ports["stripe-fake"] = self.args.stripe_port
        if self.web_port is not None:
            ports["web app"] = self.web_port
        for service, port in ports.items():
            if port_is_open(port):
                raise StackError(f"port {port} for {service} is already in use (another `make dev`?)")

    def check_backends(self) -> None:
        backends = [("moto", self.moto_url, moto_is_healthy)]
        if not self.external_stripe:
            backends.append(("stripe-fake", self.stripe_url, stripe_fake_is_healthy))
        for service, url, is_healthy in backends:
            try:
                healthy = is_healthy(url)
            except (OSError, ValueError):
                healthy = False
            if not healthy:
                raise StackError(f"--reuse-backends: no healthy {service} at {url}; start the main stack first")

    def web_line(self) -> str:
        if self.web_port is None:
            return ""
        url = f"http://{LOCAL_HOST}:{self.web_port}"
        return f"\n  web app      {url}/billing   (sign in: {url}/dev/sign-in; next {self.args.web_mode})"

    def start_backends(self) -> None:
        moto = self.supervisor.start(
            "moto", [str(VENV_BIN / "moto_server"), "-H", LOCAL_HOST, "-p", str(self.args.moto_port)]
        )
        if self.external_stripe:
            wait_until_healthy(moto, "moto", lambda: moto_is_healthy(self.moto_url))
            create_tables(self.template, self.moto_url)
            api_key, webhook_secret = external_stripe_keys()
            create_secrets(self.template, self.moto_url, api_key, webhook_secret)
            return
        target_dir = Path(os.environ.get("CARGO_TARGET_DIR", REPO_ROOT / "target"))
        fake = self.supervisor.start(
            "stripe-fake",
            [
                str(target_dir / "debug" / "stripe-fake"),
                "--port",
                str(self.args.stripe_port),
                "--seed-catalogue",
                str(REPO_ROOT / "tests" / "stripe-fake" / "fixtures" / "catalogue.json"),
            ],
        )
        wait_until_healthy(moto, "moto", lambda: moto_is_healthy(self.moto_url))
        wait_until_healthy(fake, "stripe-fake", lambda: stripe_fake_is_healthy(self.stripe_url))
        create_tables(self.template, self.moto_url)
        # The whsec_ must be in the secret before any function reads it (once per instance).
        webhook_secret = register_webhook_endpoint(
            self.template, self.stripe_url, self.args.api_port, self.args.webhook_api_version
        )
        create_secrets(self.template, self.moto_url, DEV_STRIPE_API_KEY, webhook_secret)

    def start_functions(self) -> Child:
        functions = self.supervisor.start(
            "functions",
            [
                str(VENV_BIN / "cargo-lambda"),
                "lambda",
                "watch",
                "--invoke-address",
                LOCAL_HOST,
                "--invoke-port",
                str(self.args.watch_port),
                "--ignore-changes",
                "--concurrency",
                str(self.args.concurrency),
            ],
            env={**self.child_env, **functions_environment(self.template, self.moto_url, self.stripe_url)},
        )
        binaries = sorted({f.binary for f in self.template.functions().values()})
        wait_until_healthy(functions, "cargo lambda watch", lambda: watch_knows_functions(self.watch_url, binaries))
        return functions

    def start_gateway(self) -> None:
        gateway = self.supervisor.start(
            "gateway",
            [
                str(VENV_BIN / "python"),
                str(REPO_ROOT / "scripts" / "local_gateway.py"),
                "--template",
                str(self.args.template),
                "--port",
                str(self.args.api_port),
                "--watch-url",
                self.watch_url,
            ],
            env=self.child_env,
            stdout_to_terminal=True,
        )
        wait_until_healthy(gateway, "gateway", lambda: port_is_open(self.args.api_port))

    def start_web(self) -> None:
        """The billing web app, pointed at this stack's gateway and fake Stripe."""
        assert self.web_port is not None
        explicit = self.args.web_port is not None
        next_bin = WEB_DIR / "node_modules" / ".bin" / "next"
        if not next_bin.exists():
            hint = "web/node_modules is missing: run scripts/setup-web.sh (or pass --no-web)"
            if explicit:
                raise StackError(hint)
            print(f"dev-stack: not starting the web app: {hint}", file=sys.stderr, flush=True)
            self.web_port = None
            return
        if self.args.web_mode == "start" and not (WEB_DIR / ".next" / "BUILD_ID").exists():
            raise StackError("--web-mode start needs a build first: (cd web && npm run build)")
        env = {
            **self.child_env,
            "BILLING_API_URL": self.base_url,
            "STRIPE_FAKE_URL": self.stripe_url,
            "NEXT_PUBLIC_ENABLE_BILLING": self.child_env.get("NEXT_PUBLIC_ENABLE_BILLING", self.args.enable_billing),
            "DEV_SIGN_IN": "true",  # local tokens with the public dev secret: local stacks only
            "NEXT_TELEMETRY_DISABLED": "1",
        }
        web = self.supervisor.start(
            "web",
            [
                str(next_bin),
                self.args.web_mode,
                str(WEB_DIR),
                "--hostname",
                LOCAL_HOST,
                "--port",
                str(self.web_port),
            ],
            env=env,
        )
        web_url = f"http://{LOCAL_HOST}:{self.web_port}"
        wait_until_healthy(
            web, "web app", lambda: web_answers(f"{web_url}/api/billing/plans"), timeout_s=WEB_STARTUP_TIMEOUT_S
        )

    def announce_ready(self) -> None:
        billing = "enabled" if self.args.enable_billing == "true" else "disabled"
        routes = ", ".join(r.route_key for r in self.template.routes())
        print(
            f"""
dev-stack: ready (billing {billing})
  API          {self.base_url}   (routes: {routes})
  Stripe       {self.stripe_url}   {"(external, test mode)" if self.external_stripe else "(the fake; control API under /_fake/)"}
  moto         {self.moto_url}   (DynamoDB, Secrets Manager; region {LOCAL_REGION}, keys test/test)
  functions    {self.watch_url}   (cargo lambda watch)
  logs         {self.args.log_dir}{self.web_line()}
  token        TOKEN=$(scripts/dev-token --org org_demo --role owner)
  try          curl -H "Authorization: Bearer $TOKEN" {self.base_url}/billing/customer
""",
            flush=True,
        )
        if self.args.ready_file:
            partial = self.args.ready_file.with_name(self.args.ready_file.name + ".partial")
            partial.write_text(self.base_url + "\n")
            partial.replace(self.args.ready_file)  # readers never see a half-written file


def web_port_of(args: argparse.Namespace) -> int | None:
    """The web app's port, or None when it is not to be started (see the "web app" options)."""
    if args.no_web:
        return None
    if args.web_port is not None:
        return args.web_port
    if args.ready_file or args.reuse_backends:
        return None
    return int(os.environ.get("WEB_PORT") or DEFAULT_WEB_PORT)


def web_answers(url: str) -> bool:
    """Any HTTP answer below 500 (the BFF says 401 without a session) means the app is serving."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500


def main() -> int:
    args = parse_args()
    supervisor = Supervisor(args.log_dir)

    def request_shutdown(signum, frame):
        raise Shutdown()

    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, request_shutdown)
    try:
        LocalStack(args, supervisor).run()
    except Shutdown:
        return 0
    except (StackError, TemplateError) as error:
        print(f"dev-stack: {error}", file=sys.stderr, flush=True)
        return 1
    finally:
        # Signals during cleanup must not cut it short.
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)
        supervisor.stop_all()
        if args.ready_file:
            args.ready_file.unlink(missing_ok=True)
        print("dev-stack: stopped", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
