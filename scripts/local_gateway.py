#!/usr/bin/env python3
"""A local stand-in for the API Gateway HTTP API in template.yaml (payload format 2.0).

It reads the routes and the Lambda REQUEST authorizer from the template, and for each request does
what API Gateway does: match the route, run the authorizer (simple responses, cached per identity
for ReauthorizeEvery seconds), build the v2 proxy event with the authorizer context, invoke the
function and turn its proxy response back into HTTP. Functions run under `cargo lambda watch`,
reached through its Lambda Invoke API.

    .venv/bin/python scripts/local_gateway.py --port 3000 --watch-url http://127.0.0.1:9000

One line per request goes to stdout (method, path, status, milliseconds); never headers, tokens or
bodies.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from stacklib import (
    LOCAL_ACCOUNT_ID,
    LOCAL_HOST,
    LOCAL_PARAMETER_OVERRIDES,
    LOCAL_REGION,
    TEMPLATE_PATH,
    AuthorizerSpec,
    FunctionSpec,
    RouteSpec,
    Template,
    TemplateError,
)

MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
INTEGRATION_TIMEOUT_S = 30  # API Gateway's maximum integration timeout
LOCAL_API_ID = "local"
STAGE = "$default"
ROUTE_ARN_PREFIX = f"arn:aws:execute-api:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:{LOCAL_API_ID}/{STAGE}"

# HTTP APIs pass a request body as text only for these media types (and text/*); everything else,
# including a missing Content-Type and form posts, arrives base64-encoded with isBase64Encoded.
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})

# Headers that describe one hop of a connection; the gateway sets its own.
HOP_BY_HOP_HEADERS = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"})


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_message(status: int, message: str) -> GatewayResponse:
    """API Gateway's own responses: `{"message": "..."}`, not the API's error envelope."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    return GatewayResponse(status, [("content-type", "application/json")], body)


BAD_REQUEST = gateway_message(400, "Bad Request")
NOT_FOUND = gateway_message(404, "Not Found")
UNAUTHORIZED = gateway_message(401, "Unauthorized")
FORBIDDEN = gateway_message(403, "Forbidden")
INTERNAL_SERVER_ERROR = gateway_message(500, "Internal Server Error")
SERVICE_UNAVAILABLE = gateway_message(503, "Service Unavailable")
PAYLOAD_TOO_LARGE = gateway_message(413, "Request Entity Too Large")


# ------------------------------------------------------------------------------------------------
# Routing


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    target: str  # the request target as sent: path plus optional query string
    headers: list[tuple[str, str]]  # in arrival order, names as sent
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        # HTTP APIs hand the integration a percent-decoded path (rawPath included) and route on it.
        return unquote(urlsplit(self.target).path)

    @property
    def raw_query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        """All values of the header `name` (lower case), comma-joined as HTTP APIs do; None when absent."""
        values = [value for key, value in self.headers if key.lower() == name]
        return ",".join(values) if values else None


_LITERAL, _PARAMETER, _GREEDY = 0, 1, 2  # segment kinds, most specific first


def _segment_kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _PARAMETER
    return _LITERAL


def match_path(template_path: str, path: str) -> dict[str, str] | None:
    """Path parameters if `path` fits the route path (`{name}`, trailing greedy `{name+}`)."""
    template_segments = template_path.split("/")[1:]
    segments = path.split("/")[1:]
    parameters = {}
    for index, pattern in enumerate(template_segments):
        kind = _segment_kind(pattern)
        if kind == _GREEDY:
            rest = segments[index:]
            if not rest or rest == [""]:
                return None
            parameters[pattern[1:-2]] = "/".join(rest)
            return parameters
        if index >= len(segments):
            return None
        if kind == _PARAMETER:
            if not segments[index]:
                return None
            parameters[pattern[1:-1]] = segments[index]
        elif pattern != segments[index]:
            return None
    return parameters if len(segments) == len(template_segments) else None


def _specificity(route: RouteSpec) -> tuple:
    """Sort key, most specific first: full matches before greedy ones, literal segments before
    parameters (segment by segment), an explicit method before ANY, `$default` last."""
    if route.path == "$default":
        return (1,)
    kinds = tuple(_segment_kind(s) for s in route.path.split("/")[1:])
    return (0, _GREEDY in kinds, kinds, route.method == "ANY")


class RouteTable:
    def __init__(self, routes: list[RouteSpec]):
        self._routes = sorted(routes, key=_specificity)

    def match(self, method: str, path: str) -> tuple[RouteSpec, dict[str, str]] | None:
        for route in self._routes:
            if route.method not in (method, "ANY"):
                continue
            if route.path == "$default":
                return route, {}
            parameters = match_path(route.path, path)
            if parameters is not None:
                return route, parameters
        return None


# ------------------------------------------------------------------------------------------------
# Events


def new_request_id() -> str:
    """Shaped like API Gateway's (`JzG0Lh7AoAMEVsA=`): base64 of 10 random bytes."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


def _event_headers(request: IncomingRequest, server_port: int) -> dict[str, str]:
    headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        if name.lower() != "cookie":  # cookies travel in their own field
            headers.setdefault(name.lower(), []).append(value)
    # What API Gateway's front end adds on the way in.
    headers["x-forwarded-for"] = [*headers.get("x-forwarded-for", []), request.source_ip]
    headers["x-forwarded-port"] = [str(server_port)]
    headers["x-forwarded-proto"] = ["http"]
    headers.setdefault("x-amzn-trace-id", [f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}"])
    return {name: ",".join(values) for name, values in headers.items()}


def _cookies(request: IncomingRequest) -> list[str]:
    cookie_headers = [value for name, value in request.headers if name.lower() == "cookie"]
    return [cookie.strip() for value in cookie_headers for cookie in value.split(";") if cookie.strip()]


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters.setdefault(name, []).append(value)
    return {name: ",".join(values) for name, values in parameters.items()}


def _request_context(request: IncomingRequest, route: RouteSpec, request_id: str, now_s: float) -> dict:
    domain_name = request.header("host") or LOCAL_HOST
    return {
        "accountId": LOCAL_ACCOUNT_ID,
        "apiId": LOCAL_API_ID,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": request_id,
        "routeKey": route.route_key,
        "stage": STAGE,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_s)),
        "timeEpoch": int(now_s * 1000),
    }


def _common_event_fields(request, route, path_parameters, request_id, now_s, server_port) -> dict:
    """The fields the proxy event and the authorizer event share. Like API Gateway, optional
    fields are left out rather than sent as null."""
    event = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": _event_headers(request, server_port),
        "requestContext": _request_context(request, route, request_id, now_s),
    }
    cookies = _cookies(request)
    if cookies:
        event["cookies"] = cookies
    query_parameters = _query_parameters(request.raw_query)
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


def build_authorizer_event(request, route, path_parameters, request_id, now_s, server_port) -> dict:
    """The Lambda authorizer request, payload format 2.0 (ApiGatewayV2CustomAuthorizerV2Request)."""
    event = _common_event_fields(request, route, path_parameters, request_id, now_s, server_port)
    resource = request.raw_path.lstrip("/")
    return {
        "type": "REQUEST",
        "routeArn": f"{ROUTE_ARN_PREFIX}/{request.method}/{resource}",
        "identitySource": identity_values(request, route.authorizer),
        **event,
    }


def build_proxy_event(request, route, path_parameters, request_id, now_s, server_port, authorizer_context) -> dict:
    """The integration event, payload format 2.0 (ApiGatewayV2httpRequest)."""
    event = _common_event_fields(request, route, path_parameters, request_id, now_s, server_port)
    if authorizer_context is not None:
        event["requestContext"]["authorizer"] = {"lambda": authorizer_context}
    if request.body:
        if _is_text(request.header("content-type"), request.body):
            event["body"] = request.body.decode("utf-8")
            event["isBase64Encoded"] = False
        else:
            event["body"] = base64.b64encode(request.body).decode()
            event["isBase64Encoded"] = True
    else:
        event["isBase64Encoded"] = False
    return event


def _is_text(content_type: str | None, body: bytes) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    if not (media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES):
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def identity_values(request: IncomingRequest, authorizer: AuthorizerSpec) -> list[str]:
    return [request.header(name) or "" for name in authorizer.identity_headers]


# ------------------------------------------------------------------------------------------------
# Results


class MalformedResponse(Exception):
    """A function answered something API Gateway could not turn into HTTP."""


def proxy_response_to_http(payload: Any, request_id: str) -> GatewayResponse:
    """A payload-2.0 function result as HTTP. A result without `statusCode` is taken as a 200 JSON
    body, as API Gateway infers for format 2.0."""
    if not (isinstance(payload, dict) and "statusCode" in payload):
        body = payload if isinstance(payload, str) else json.dumps(payload)
        return GatewayResponse(
            200, [("content-type", "application/json"), ("apigw-requestid", request_id)], body.encode()
        )

    status = payload["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedResponse(f"statusCode {status!r}")
    headers = [(name, str(value)) for name, value in (payload.get("headers") or {}).items()]
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((name, str(value)) for value in values)
    headers.extend(("set-cookie", str(cookie)) for cookie in payload.get("cookies") or [])
    headers = [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP_HEADERS]
    headers.append(("apigw-requestid", request_id))

    body = payload.get("body") or ""
    if not isinstance(body, str):
        raise MalformedResponse("body is not a string")
    if payload.get("isBase64Encoded"):
        try:
            return GatewayResponse(status, headers, base64.b64decode(body, validate=True))
        except ValueError as error:
            raise MalformedResponse(f"body is not base64: {error}") from None
    return GatewayResponse(status, headers, body.encode("utf-8"))


@dataclass(frozen=True)
class AuthorizerDecision:
    response: GatewayResponse | None  # None: authorized
    context: dict | None = None  # what the function sees as requestContext.authorizer.lambda
    cacheable: bool = True


def interpret_authorizer_result(invocation: Invocation) -> AuthorizerDecision:
    """Simple responses: allow with context, deny (403). A function error whose message is
    `Unauthorized` is API Gateway's 401; any other failure is a 500, never cached."""
    if invocation.timed_out:
        return AuthorizerDecision(INTERNAL_SERVER_ERROR, cacheable=False)
    if invocation.error is not None:
        if invocation.error.get("errorMessage") == "Unauthorized":
            return AuthorizerDecision(UNAUTHORIZED, cacheable=False)
        return AuthorizerDecision(INTERNAL_SERVER_ERROR, cacheable=False)
    result = invocation.payload
    if not isinstance(result, dict) or not isinstance(result.get("isAuthorized"), bool):
        return AuthorizerDecision(INTERNAL_SERVER_ERROR, cacheable=False)
    if not result["isAuthorized"]:
        return AuthorizerDecision(FORBIDDEN)
    context = result.get("context")
    if context is not None and not isinstance(context, dict):
        return AuthorizerDecision(INTERNAL_SERVER_ERROR, cacheable=False)
    return AuthorizerDecision(None, context)


class AuthorizerCache:
    """Authorizer decisions per identity source values, for ReauthorizeEvery seconds."""

    def __init__(self, enabled: bool = True, clock=time.monotonic):
        self._enabled = enabled
        self._clock = clock
        self._entries: dict[tuple, tuple[float, AuthorizerDecision]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple) -> AuthorizerDecision | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            expires_at, decision = entry
            if self._clock() >= expires_at:
                del self._entries[key]
                return None
            return decision

    def put(self, key: tuple, decision: AuthorizerDecision, ttl_s: int) -> None:
        if self._enabled and ttl_s > 0 and decision.cacheable:
            with self._lock:
                self._entries[key] = (self._clock() + ttl_s, decision)


# ------------------------------------------------------------------------------------------------
# Invoking functions


@dataclass(frozen=True)
class Invocation:
    payload: Any = None  # the function's result, when it returned one
    error: dict | None = None  # {"errorType", "errorMessage"} when it failed
    timed_out: bool = False


class LambdaInvoker:
    """Invokes functions through `cargo lambda watch`'s Lambda Invoke API.

    Watch answers 200 with the function's result, or 500 with the function's error document
    (`{"errorType","errorMessage"}`, no error header) when the handler failed. A function process
    that dies mid-invocation leaves the request hanging, so every call has a deadline.
    """

    def __init__(self, watch_url: str):
        parts = urlsplit(watch_url)
        self._host, self._port = parts.hostname, parts.port or 80

    def invoke(self, function: FunctionSpec, event: dict, timeout_s: float) -> Invocation:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=timeout_s)
        try:
            connection.request(
                "POST",
                f"/2015-03-31/functions/{function.binary}/invocations",
                body=json.dumps(event).encode(),
                headers={"content-type": "application/json"},
            )
            response = connection.getresponse()
            status, raw = response.status, response.read()
        except TimeoutError:
            return Invocation(timed_out=True)
        except OSError as error:
            return Invocation(error={"errorType": "InvokeFailed", "errorMessage": f"cargo lambda watch: {error}"})
        finally:
            connection.close()
        try:
            document = json.loads(raw)
        except ValueError:
            document = None
        if status == 200 and document is not None:
            return Invocation(payload=document)
        if isinstance(document, dict) and "errorMessage" in document:
            return Invocation(error=document)
        return Invocation(error={"errorType": f"Http{status}", "errorMessage": raw[:200].decode("utf-8", "replace")})


# ------------------------------------------------------------------------------------------------
# The gateway


class Gateway:
    def __init__(self, routes: list[RouteSpec], invoker: LambdaInvoker, cache: AuthorizerCache, server_port: int):
        self._routes = RouteTable(routes)
        self._invoker = invoker
        self._cache = cache
        self._server_port = server_port

    def handle(self, request: IncomingRequest) -> GatewayResponse:
        request_id = new_request_id()
        response = self._handle(request, request_id)
        if not any(name.lower() == "apigw-requestid" for name, _ in response.headers):
            response = GatewayResponse(
                response.status, [*response.headers, ("apigw-requestid", request_id)], response.body
            )
        return response

    def _handle(self, request: IncomingRequest, request_id: str) -> GatewayResponse:
        matched = self._routes.match(request.method, request.raw_path)
        if matched is None:
            return NOT_FOUND
        route, path_parameters = matched
        now_s = time.time()
        authorizer_context = None
        if route.authorizer is not None:
            decision = self._authorize(request, route, path_parameters, request_id, now_s)
            if decision.response is not None:
                return decision.response
            authorizer_context = decision.context or {}
        event = build_proxy_event(
            request, route, path_parameters, request_id, now_s, self._server_port, authorizer_context
        )
        timeout_s = min(route.function.timeout_s, INTEGRATION_TIMEOUT_S)
        invocation = self._invoker.invoke(route.function, event, timeout_s)
        if invocation.timed_out:
            # A function timeout is a Lambda error (500); reaching API Gateway's own limit is a 503.
            log_problem(f"{route.function.binary} timed out after {timeout_s}s")
            return SERVICE_UNAVAILABLE if timeout_s >= INTEGRATION_TIMEOUT_S else INTERNAL_SERVER_ERROR
        if invocation.error is not None:
            log_problem(f"{route.function.binary} failed: {describe_error(invocation.error)}")
            return INTERNAL_SERVER_ERROR
        try:
            return proxy_response_to_http(invocation.payload, request_id)
        except MalformedResponse as error:
            log_problem(f"{route.function.binary} returned a malformed response: {error}")
            return INTERNAL_SERVER_ERROR

    def _authorize(self, request, route, path_parameters, request_id, now_s) -> AuthorizerDecision:
        authorizer = route.authorizer
        identity = identity_values(request, authorizer)
        if not all(identity):  # API Gateway answers 401 without calling the authorizer
            return AuthorizerDecision(UNAUTHORIZED, cacheable=False)
        cache_key = (authorizer.name, *identity)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        event = build_authorizer_event(request, route, path_parameters, request_id, now_s, self._server_port)
        timeout_s = min(authorizer.function.timeout_s, INTEGRATION_TIMEOUT_S)
        invocation = self._invoker.invoke(authorizer.function, event, timeout_s)
        decision = interpret_authorizer_result(invocation)
        if decision.response is INTERNAL_SERVER_ERROR:
            problem = (
                "timed out"
                if invocation.timed_out
                else describe_error(invocation.error or {"errorMessage": "malformed response"})
            )
            log_problem(f"authorizer {authorizer.function.binary}: {problem}")
        self._cache.put(cache_key, decision, authorizer.reauthorize_every_s)
        return decision


def describe_error(error: dict) -> str:
    return f"{error.get('errorType', '?')}: {str(error.get('errorMessage', ''))[:200]}"


def log_problem(message: str) -> None:
    print(f"gateway: {message}", file=sys.stderr, flush=True)


class _GatewayHTTPHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect from API Gateway
    gateway: Gateway  # set on the subclass made by make_server()

    def _serve(self) -> None:
        started = time.monotonic()
        response = self._respond()
        self._write(response)
        elapsed_ms = (time.monotonic() - started) * 1000
        print(f"{self.command} {urlsplit(self.path).path} {response.status} {elapsed_ms:.0f}ms", flush=True)

    def _respond(self) -> GatewayResponse:
        try:
            body = self._read_body()
        except ValueError:  # a malformed Content-Length or chunk size
            self.close_connection = True
            return BAD_REQUEST
        if body is None:
            self.close_connection = True  # the unread rest of the body makes the connection unusable
            return PAYLOAD_TOO_LARGE
        request = IncomingRequest(
            method=self.command,
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
        )
        try:
            return self.gateway.handle(request)
        except Exception as error:  # a gateway bug must still answer, as API Gateway would
            log_problem(f"unexpected {type(error).__name__}: {error}")
            return INTERNAL_SERVER_ERROR

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes | None:
        """The request body, or None when it exceeds API Gateway's limit."""
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            return self._read_chunked_body()
        length = int(self.headers.get("content-length") or 0)
        if length > MAX_REQUEST_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked_body(self) -> bytes | None:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():  # trailers, up to the blank line
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BODY_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF after each chunk

    def _write(self, response: GatewayResponse) -> None:
        self.send_response_only(response.status)
        self.send_header("date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_request(self, code="-", size="-") -> None:
        """Silenced: _serve logs its own line, without the query string."""


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # bursts of simultaneous connections (the e2e race test opens 25)


def make_server(gateway: Gateway, host: str, port: int) -> ThreadingHTTPServer:
    handler = type("GatewayHTTPHandler", (_GatewayHTTPHandler,), {"gateway": gateway})
    return _GatewayServer((host, port), handler)


def serve(template_path: Path, host: str, port: int, watch_url: str, auth_cache: bool) -> None:
    routes = Template.load(template_path, LOCAL_PARAMETER_OVERRIDES).routes()
    for route in routes:
        if route.authorizer is not None and not route.authorizer.simple_responses:
            raise TemplateError(f"{route.route_key}: only authorizers with EnableSimpleResponses are supported locally")
    gateway = Gateway(routes, LambdaInvoker(watch_url), AuthorizerCache(enabled=auth_cache), port)
    with make_server(gateway, host, port) as server:
        print(f"gateway: {len(routes)} routes on http://{host}:{port} -> {watch_url}", file=sys.stderr, flush=True)
        server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    parser.add_argument("--host", default=LOCAL_HOST)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--watch-url", default="http://127.0.0.1:9000", help="cargo lambda watch's invoke address")
    parser.add_argument("--no-auth-cache", action="store_true", help="call the authorizer on every request")
    args = parser.parse_args()
    try:
        serve(args.template, args.host, args.port, args.watch_url, auth_cache=not args.no_auth_cache)
    except KeyboardInterrupt:
        pass
    except TemplateError as error:
        sys.exit(f"gateway: {error}")


if __name__ == "__main__":
    main()
