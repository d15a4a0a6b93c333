"""A small fault-injecting HTTP proxy in front of moto (127.0.0.1 only).

The functions of the proxied stack reach "AWS" at this proxy; it forwards every request to the
main stack's moto unchanged, logs each DynamoDB call as (operation, table), and, while a fault is
armed for a matching call, answers it the way DynamoDB fails instead:

- `throttle`: 400 `ThrottlingException` (the SDK retries it, then gives up);
- `ptee`: 400 `ProvisionedThroughputExceededException`;
- `ccf`: 400 `ConditionalCheckFailedException` (a conditional write losing a race that is not there);
- `timeout`: holds the request `hold_s`, then closes the connection with no answer;
- `reset`: closes the connection at once with no answer.

It runs as daemon threads of the test process and stops with `stop()` or when the process ends.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ERROR_TYPES = {
    "throttle": "com.amazon.coral.availability#ThrottlingException",
    "ptee": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "ccf": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException",
}
MESSAGES = {
    "throttle": "Rate of requests exceeds the allowed throughput.",
    "ptee": "The level of configured provisioned throughput for the table was exceeded.",
    "ccf": "The conditional request failed",
}
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}
UPSTREAM_TIMEOUT_S = 30


@dataclass
class Fault:
    operation: str  # "PutItem", … or "*"
    table: str  # table name or "*"
    kind: str  # throttle | ptee | ccf | timeout | reset
    scope: str = ""  # only calls whose body contains this text (an org id), so cases can run in parallel
    times: int | None = None  # None: until cleared
    hold_s: float = 1.0
    hits: int = 0

    def matches(self, operation: str, table: str, body: str) -> bool:
        return self.operation in ("*", operation) and self.table in ("*", table) and self.scope in body


@dataclass
class ProxyState:
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[Fault] = field(default_factory=list)
    log: list[tuple[str, str, str]] = field(default_factory=list)  # DynamoDB calls: (operation, table, body)

    def take_fault(self, operation: str, table: str, body: str) -> Fault | None:
        with self.lock:
            self.log.append((operation, table, body))
            for fault in self.faults:
                if fault.matches(operation, table, body) and (fault.times is None or fault.hits < fault.times):
                    fault.hits += 1
                    return fault
        return None


class DynamoFaultProxy:
    def __init__(self, upstream_url: str, port: int = 0):
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port)
        self.state = ProxyState()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _forward(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                target = self.headers.get("X-Amz-Target", "")
                if target.startswith("DynamoDB_"):
                    operation = target.split(".", 1)[-1]
                    try:
                        table = json.loads(body or b"{}").get("TableName", "")
                    except ValueError:
                        table = ""
                    fault = proxy.state.take_fault(operation, table, body.decode("utf-8", "replace"))
                    if fault is not None:
                        return self._fail(fault)
                self._relay(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

            def _fail(self, fault: Fault):
                if fault.kind in ("timeout", "reset"):
                    if fault.kind == "timeout":
                        time.sleep(fault.hold_s)
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                payload = json.dumps({"__type": ERROR_TYPES[fault.kind], "message": MESSAGES[fault.kind]}).encode()
                self.send_response(400)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("x-amzn-RequestId", f"proxy-{time.monotonic_ns()}")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def _relay(self, body: bytes):
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=UPSTREAM_TIMEOUT_S)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(data)
                finally:
                    upstream.close()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="dynamo-proxy", daemon=True)

    def start(self) -> DynamoFaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- control, from the tests -------------------------------------------------------------
    def arm(self, operation: str, table: str, kind: str, times: int | None = None, hold_s: float = 1.0,
            scope: str = "") -> Fault:
        fault = Fault(operation, table, kind, scope, times, hold_s)
        with self.state.lock:
            self.state.faults.append(fault)
        return fault

    def clear(self, scope: str | None = None) -> None:
        """Removes every fault, or those of one scope."""
        with self.state.lock:
            self.state.faults[:] = [f for f in self.state.faults if scope is not None and f.scope != scope]

    def calls(self, scope: str = "") -> list[tuple[str, str]]:
        """(operation, table) of every DynamoDB call so far whose body contains `scope`."""
        with self.state.lock:
            return [(op, table) for op, table, body in self.state.log if scope in body]
