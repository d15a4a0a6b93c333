"""The READMEs' shell commands, run: documentation that cannot drift from what works.

Every ```sh / ```bash block in README.md, web/README.md and tests/*/README.md carries a marker in
the HTML comment right above it, saying how it is checked:

    <!-- readme-test: run [cwd=DIR] [expect=TEXT] -->  run under `bash -euo pipefail` while a
                                   `make dev` started here is up; exit 0, and TEXT in the output
    <!-- readme-test: serve -->    each line is a server: it must come up and listen, then is stopped
    <!-- readme-test: covered-by=FILE -->  each command appears verbatim in FILE, which CI runs
    <!-- readme-test: skip REASON -->      not runnable here (REASON says why: e.g. an AWS account)

A block without a marker fails the test, so a new command is classified when it is written.
The documented default ports (API 3000, web 3001, watch 9000, fake Stripe 12111, moto 5055) are
rewritten to free ports, so a developer's own `make dev` does not collide with the test's.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from support import LOCAL_HOST, free_ports

REPO_ROOT = Path(__file__).resolve().parents[2]
READMES = [REPO_ROOT / "README.md", REPO_ROOT / "web" / "README.md", *sorted(REPO_ROOT.glob("tests/*/README.md"))]
LOG_DIR = REPO_ROOT / ".dev" / "logs" / "readme"
DEFAULT_PORTS = {"API_PORT": 3000, "WEB_PORT": 3001, "WATCH_PORT": 9000, "STRIPE_PORT": 12111, "MOTO_PORT": 5055}
MARKER = re.compile(r"<!--\s*readme-test:\s*(?P<kind>run|serve|covered-by=\S+|skip)(?P<rest>.*?)-->\s*$")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.S | re.M)
STACK_START_LIMIT_S = 600
COMMAND_LIMIT_S = 900


@dataclass
class Block:
    readme: Path
    line: int
    marker: str  # run | serve | covered-by=FILE | skip, or "" when missing
    options: str
    body: str

    @property
    def where(self) -> str:
        return f"{self.readme.relative_to(REPO_ROOT)}:{self.line}"

    def option(self, name: str) -> str | None:
        for token in shlex.split(self.options):
            key, _, value = token.partition("=")
            if key == name:
                return value
        return None

    def commands(self) -> list[str]:
        """The block's commands: backslash continuations joined, comments and blank lines dropped."""
        joined = re.sub(r"\\\n\s*", " ", self.body)
        lines = [re.sub(r"\s+#.*$", "", line).strip() for line in joined.splitlines()]
        return [line for line in lines if line and not line.startswith("#")]


def shell_blocks() -> list[Block]:
    blocks = []
    for readme in READMES:
        text = readme.read_text()
        for fence in FENCE.finditer(text):
            if fence["lang"] not in ("sh", "bash", "shell"):
                continue
            before = text[: fence.start()].rstrip("\n").splitlines()
            marker = MARKER.search(before[-1]) if before else None
            blocks.append(
                Block(
                    readme=readme,
                    line=text[: fence.start()].count("\n") + 1,
                    marker=marker["kind"] if marker else "",
                    options=marker["rest"].strip() if marker else "",
                    body=fence["body"],
                )
            )
    return blocks


BLOCKS = shell_blocks()


def with_ports(command: str, ports: dict[str, int]) -> str:
    for name, default in DEFAULT_PORTS.items():
        command = re.sub(rf"(?<![\d.]){default}(?!\d)", str(ports[name]), command)
    return command


def test_every_shell_block_says_how_it_is_checked():
    unmarked = [block.where for block in BLOCKS if not block.marker]
    assert not unmarked, f"add a <!-- readme-test: ... --> marker above: {unmarked}"
    unexplained = [block.where for block in BLOCKS if block.marker == "skip" and len(block.options) < 10]
    assert not unexplained, f"a skipped block says why: {unexplained}"
    assert any(block.marker == "run" for block in BLOCKS)


@pytest.mark.parametrize(
    "block", [b for b in BLOCKS if b.marker.startswith("covered-by=")], ids=lambda b: b.where
)
def test_covered_commands_are_the_ones_ci_runs(block: Block):
    covering = REPO_ROOT / block.marker.removeprefix("covered-by=")
    script = covering.read_text()
    missing = [command for command in block.commands() if command not in script]
    assert not missing, f"{block.where}: not run by {covering.relative_to(REPO_ROOT)}: {missing}"


def port_listens(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((LOCAL_HOST, port)) == 0


def stop_group(process: subprocess.Popen, grace_s: float = 30) -> int | None:
    """SIGINT (Ctrl-C, as the README says) to the whole group, then SIGKILL if it lingers."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(grace_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode


@pytest.fixture(scope="module")
def dev_stack() -> dict[str, int]:
    """`make dev`, exactly as the README starts it, on free ports; stopped with Ctrl-C (SIGINT)."""
    ports = dict(zip(DEFAULT_PORTS, free_ports(len(DEFAULT_PORTS)), strict=True))
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    output_path = LOG_DIR / "make-dev.log"
    env = {**os.environ, **{name: str(port) for name, port in ports.items()}}
    with open(output_path, "wb") as output:
        process = subprocess.Popen(
            ["make", "dev"], cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + STACK_START_LIMIT_S
        while "dev-stack: ready" not in output_path.read_text(errors="replace"):
            assert process.poll() is None, f"make dev exited ({process.returncode}); see {output_path}"
            assert time.monotonic() < deadline, f"make dev not ready in {STACK_START_LIMIT_S} s; see {output_path}"
            time.sleep(0.5)
        web = urllib.request.urlopen(f"http://{LOCAL_HOST}:{ports['WEB_PORT']}/dev/sign-in", timeout=120)
        assert web.status == 200, "the web app answers on WEB_PORT"
        yield ports
    finally:
        code = stop_group(process)
    assert code is not None and port_listens(ports["API_PORT"]) is False, "Ctrl-C stops the whole stack"


RUN_BLOCKS = [b for b in BLOCKS if b.marker == "run"]


@pytest.mark.parametrize("block", RUN_BLOCKS, ids=lambda b: b.where)
def test_run_blocks_work_against_make_dev(block: Block, dev_stack: dict[str, int]):
    script = with_ports(block.body, dev_stack)
    cwd = REPO_ROOT / (block.option("cwd") or ".")
    env = {**os.environ, **{name: str(port) for name, port in dev_stack.items()}}
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_LIMIT_S,
        start_new_session=True,
    )
    output = result.stdout + result.stderr
    (LOG_DIR / f"{block.readme.parent.name}-{block.line}.log").write_text(f"$ {script}\n{output}")
    assert result.returncode == 0, f"{block.where} failed ({result.returncode}):\n{script}\n{output[-3000:]}"
    expected = block.option("expect")
    if expected:
        assert expected in result.stdout, f"{block.where}: {expected!r} not in its output:\n{result.stdout[-3000:]}"


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.marker == "serve"], ids=lambda b: b.where)
def test_serve_blocks_come_up_and_listen(block: Block):
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    for index, command in enumerate(block.commands()):
        ports = dict(zip(DEFAULT_PORTS, free_ports(len(DEFAULT_PORTS)), strict=True))
        command = with_ports(command, ports)
        # A line that names no port is served on the default one, which a `*_PORT` variable moves.
        env = {**os.environ, "STRIPE_FAKE_PORT": str(ports["STRIPE_PORT"])}
        log = LOG_DIR / f"{block.readme.parent.name}-{block.line}-{index}.log"
        with open(log, "wb") as output:
            process = subprocess.Popen(
                ["bash", "-c", command], cwd=REPO_ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            deadline = time.monotonic() + 300
            while not any(port_listens(port) for port in ports.values()):
                assert process.poll() is None, f"{block.where}: `{command}` exited: {log.read_text()[-2000:]}"
                assert time.monotonic() < deadline, f"{block.where}: `{command}` did not listen"
                time.sleep(0.3)
        finally:
            stop_group(process, grace_s=10)
