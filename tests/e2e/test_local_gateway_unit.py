"""Unit tests of the local gateway and the template model: no stack, no functions."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading

import local_gateway as gw
import pytest
from stacklib import AuthorizerSpec, FunctionSpec, RouteSpec, Template, TemplateError
from support import free_ports

AUTHORIZER_FN = FunctionSpec("AuthorizerFunction", "authorizer", {}, 10)
CUSTOMER_FN = FunctionSpec("CustomerFunction", "customer", {}, 10)
AUTHORIZER = AuthorizerSpec("Auth", AUTHORIZER_FN, ("authorization",), 300, True)
NOW_S = 1_700_000_000.123


def route(
    method: str, path: str, authorizer: AuthorizerSpec | None = AUTHORIZER, function: FunctionSpec = CUSTOMER_FN
) -> RouteSpec:
    return RouteSpec(method, path, function, authorizer)


def request(method="GET", target="/billing/customer", headers=(), body=b"") -> gw.IncomingRequest:
    return gw.IncomingRequest(method=method, target=target, headers=list(headers), body=body, source_ip="127.0.0.1")


# ------------------------------------------------------------------------------------------------
# Routing


class TestRouting:
    ROUTES = (
        route("GET", "/pets/dog/1"),
        route("GET", "/pets/dog/{id}"),
        route("GET", "/pets/{proxy+}"),
        route("ANY", "/{proxy+}"),
        route("POST", "/billing/customer"),
        route("ANY", "/billing/customer"),
    )

    @pytest.mark.parametrize(
        "method, path, route_key, parameters",
        [
            ("GET", "/pets/dog/1", "GET /pets/dog/1", {}),
            ("GET", "/pets/dog/2", "GET /pets/dog/{id}", {"id": "2"}),
            ("GET", "/pets/cat/1", "GET /pets/{proxy+}", {"proxy": "cat/1"}),
            ("POST", "/test/5", "ANY /{proxy+}", {"proxy": "test/5"}),
            ("POST", "/billing/customer", "POST /billing/customer", {}),
            ("DELETE", "/billing/customer", "ANY /billing/customer", {}),
        ],
    )
    def test_the_most_specific_route_wins_as_in_api_gateway(self, method, path, route_key, parameters):
        matched_route, matched_parameters = gw.RouteTable(self.ROUTES).match(method, path)
        assert (matched_route.route_key, matched_parameters) == (route_key, parameters)

    @pytest.mark.parametrize("path", ["/billing/customer/", "/billing", "/billing/customer/x", "/"])
    def test_paths_that_fit_no_route_do_not_match(self, path):
        assert (
            gw.RouteTable([route("GET", "/billing/customer"), route("GET", "/items/{id}")]).match("GET", path) is None
        )

    def test_a_method_without_a_route_does_not_match(self):
        assert gw.RouteTable([route("GET", "/billing/customer")]).match("PUT", "/billing/customer") is None

    def test_a_path_parameter_needs_a_non_empty_segment(self):
        assert gw.match_path("/items/{id}", "/items/") is None
        assert gw.match_path("/items/{id}", "/items/pm_1") == {"id": "pm_1"}

    def test_the_default_route_catches_what_nothing_else_matches(self):
        table = gw.RouteTable([route("ANY", "$default"), route("GET", "/a")])
        assert table.match("GET", "/a")[0].route_key == "GET /a"
        assert table.match("POST", "/b/c")[0].route_key == "$default"

    def test_routing_uses_the_percent_decoded_path(self):
        assert request(target="/items/a%20b?x=1").raw_path == "/items/a b"
        assert gw.RouteTable([route("GET", "/items/{id}")]).match("GET", "/items/a b")[1] == {"id": "a b"}


# ------------------------------------------------------------------------------------------------
# Events


class TestProxyEvent:
    def build(self, req, matched_route=None, parameters=None, context=None):
        return gw.build_proxy_event(
            req, matched_route or route("POST", "/billing/customer"), parameters or {}, "req-1", NOW_S, 3000, context
        )

    def test_headers_are_lowercased_and_repeated_ones_comma_joined(self):
        event = self.build(request(headers=[("X-Thing", "a"), ("x-thing", "b"), ("Accept", "*/*")]))
        assert event["headers"]["x-thing"] == "a,b"
        assert event["headers"]["accept"] == "*/*"
        assert event["headers"]["x-forwarded-proto"] == "http"
        assert event["headers"]["x-forwarded-port"] == "3000"
        assert event["headers"]["x-forwarded-for"] == "127.0.0.1"

    def test_cookies_move_from_the_header_to_their_own_field(self):
        event = self.build(request(headers=[("Cookie", "a=1; b=2"), ("Cookie", "c=3")]))
        assert event["cookies"] == ["a=1", "b=2", "c=3"]
        assert "cookie" not in event["headers"]

    def test_query_string_is_raw_and_parsed_with_repeated_values_joined(self):
        event = self.build(request(target="/billing/customer?a=1&a=2&b=&c=x%20y"))
        assert event["rawQueryString"] == "a=1&a=2&b=&c=x%20y"
        assert event["queryStringParameters"] == {"a": "1,2", "b": "", "c": "x y"}

    def test_absent_optional_fields_are_left_out(self):
        event = self.build(request())
        for field in ("cookies", "queryStringParameters", "pathParameters", "body", "stageVariables"):
            assert field not in event
        assert event["isBase64Encoded"] is False
        assert "authorizer" not in event["requestContext"]

    def test_request_context_is_complete(self):
        event = self.build(
            request(method="POST", headers=[("Host", "127.0.0.1:3000"), ("User-Agent", "ua/1")]),
            context={"org_id": "o"},
        )
        context = event["requestContext"]
        assert context["http"] == {
            "method": "POST",
            "path": "/billing/customer",
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": "ua/1",
        }
        assert (context["requestId"], context["routeKey"], context["stage"]) == (
            "req-1",
            "POST /billing/customer",
            "$default",
        )
        assert (context["domainName"], context["timeEpoch"]) == ("127.0.0.1:3000", 1_700_000_000_123)
        assert context["time"] == "14/Nov/2023:22:13:20 +0000"
        assert context["authorizer"] == {"lambda": {"org_id": "o"}}
        assert event["version"] == "2.0" and event["routeKey"] == "POST /billing/customer"

    def test_path_parameters_are_passed(self):
        event = self.build(request(target="/items/pm_1"), route("DELETE", "/items/{id}"), {"id": "pm_1"})
        assert event["pathParameters"] == {"id": "pm_1"}
        assert event["rawPath"] == "/items/pm_1"

    @pytest.mark.parametrize(
        "content_type", ["application/json", "application/json; charset=utf-8", "text/plain", "application/xml"]
    )
    def test_text_bodies_are_passed_as_text(self, content_type):
        event = self.build(request(headers=[("Content-Type", content_type)], body=b'{"a":"\xc3\xa9"}'))
        assert (event["body"], event["isBase64Encoded"]) == ('{"a":"é"}', False)

    @pytest.mark.parametrize(
        "headers, body",
        [
            ([("Content-Type", "application/x-www-form-urlencoded")], b"a=1"),
            ([("Content-Type", "application/octet-stream")], b"\x00\xff"),
            ([], b"{}"),  # no Content-Type at all
            ([("Content-Type", "text/plain")], b"\xff\xfe"),  # not UTF-8
        ],
    )
    def test_other_bodies_are_base64_encoded(self, headers, body):
        event = self.build(request(headers=headers, body=body))
        assert event["isBase64Encoded"] is True
        assert base64.b64decode(event["body"]) == body


def test_the_authorizer_event_is_a_v2_request_without_the_body():
    req = request("DELETE", "/items/pm_1?x=1", headers=[("Authorization", "Bearer t"), ("Cookie", "a=1")], body=b"{}")
    event = gw.build_authorizer_event(req, route("DELETE", "/items/{id}"), {"id": "pm_1"}, "req-1", NOW_S, 3000)
    assert (event["version"], event["type"]) == ("2.0", "REQUEST")
    assert event["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:local/$default/DELETE/items/pm_1"
    assert event["identitySource"] == ["Bearer t"]
    assert event["routeKey"] == "DELETE /items/{id}"
    assert event["headers"]["authorization"] == "Bearer t"
    assert (event["cookies"], event["queryStringParameters"], event["pathParameters"]) == (
        ["a=1"],
        {"x": "1"},
        {"id": "pm_1"},
    )
    assert "body" not in event and "authorizer" not in event["requestContext"]


# ------------------------------------------------------------------------------------------------
# Function results


class TestProxyResponse:
    def test_a_proxy_response_becomes_http(self):
        response = gw.proxy_response_to_http(
            {
                "statusCode": 201,
                "headers": {"content-type": "application/json", "x-one": "1"},
                "multiValueHeaders": {"x-many": ["a", "b"]},
                "cookies": ["s=1; Path=/"],
                "body": '{"ok":true}',
                "isBase64Encoded": False,
            },
            "req-1",
        )
        assert response.status == 201
        assert response.body == b'{"ok":true}'
        assert ("x-many", "a") in response.headers and ("x-many", "b") in response.headers
        assert ("set-cookie", "s=1; Path=/") in response.headers
        assert ("apigw-requestid", "req-1") in response.headers

    def test_a_base64_body_is_decoded(self):
        response = gw.proxy_response_to_http(
            {"statusCode": 200, "body": base64.b64encode(b"\x00\x01").decode(), "isBase64Encoded": True}, "r"
        )
        assert response.body == b"\x00\x01"

    def test_hop_by_hop_headers_of_the_function_are_dropped(self):
        response = gw.proxy_response_to_http(
            {"statusCode": 204, "headers": {"Content-Length": "99", "Connection": "close"}}, "r"
        )
        assert [name for name, _ in response.headers] == ["apigw-requestid"]
        assert response.body == b""

    @pytest.mark.parametrize(
        "result, body", [({"message": "hi"}, b'{"message": "hi"}'), ("hello", b"hello"), ([1], b"[1]")]
    )
    def test_a_result_without_status_code_is_a_200_json_body(self, result, body):
        response = gw.proxy_response_to_http(result, "r")
        assert (response.status, response.body) == (200, body)
        assert ("content-type", "application/json") in response.headers

    @pytest.mark.parametrize(
        "result",
        [
            {"statusCode": "200"},
            {"statusCode": 99},
            {"statusCode": True},
            {"statusCode": 200, "body": 5},
            {"statusCode": 200, "body": "!!", "isBase64Encoded": True},
        ],
    )
    def test_a_malformed_response_is_refused(self, result):
        with pytest.raises(gw.MalformedResponse):
            gw.proxy_response_to_http(result, "r")


class TestAuthorizerResult:
    def test_an_authorized_result_carries_the_context(self):
        decision = gw.interpret_authorizer_result(
            gw.Invocation(payload={"isAuthorized": True, "context": {"role": "admin"}})
        )
        assert (decision.response, decision.context, decision.cacheable) == (None, {"role": "admin"}, True)

    def test_a_denial_is_forbidden_and_cacheable(self):
        decision = gw.interpret_authorizer_result(gw.Invocation(payload={"isAuthorized": False}))
        assert (decision.response, decision.cacheable) == (gw.FORBIDDEN, True)

    def test_an_unauthorized_error_is_a_401(self):
        decision = gw.interpret_authorizer_result(
            gw.Invocation(error={"errorType": "&str", "errorMessage": "Unauthorized"})
        )
        assert (decision.response, decision.cacheable) == (gw.UNAUTHORIZED, False)

    @pytest.mark.parametrize(
        "invocation",
        [
            gw.Invocation(error={"errorType": "Panic", "errorMessage": "boom"}),
            gw.Invocation(timed_out=True),
            gw.Invocation(payload={"isAuthorized": "yes"}),
            gw.Invocation(payload={"isAuthorized": True, "context": "x"}),
            gw.Invocation(payload=None),
        ],
    )
    def test_any_other_failure_is_a_500_never_cached(self, invocation):
        decision = gw.interpret_authorizer_result(invocation)
        assert (decision.response, decision.cacheable) == (gw.INTERNAL_SERVER_ERROR, False)


class TestAuthorizerCache:
    def test_entries_expire_after_their_ttl(self):
        now = [0.0]
        cache = gw.AuthorizerCache(clock=lambda: now[0])
        cache.put(("k",), gw.AuthorizerDecision(None, {}), ttl_s=300)
        now[0] = 299.9
        assert cache.get(("k",)) is not None
        now[0] = 300.0
        assert cache.get(("k",)) is None

    @pytest.mark.parametrize("enabled, ttl_s, cacheable", [(False, 300, True), (True, 0, True), (True, 300, False)])
    def test_nothing_is_cached_when_disabled_with_ttl_0_or_for_failures(self, enabled, ttl_s, cacheable):
        cache = gw.AuthorizerCache(enabled=enabled)
        cache.put(("k",), gw.AuthorizerDecision(None, {}, cacheable=cacheable), ttl_s=ttl_s)
        assert cache.get(("k",)) is None


# ------------------------------------------------------------------------------------------------
# The gateway with a scripted invoker


class ScriptedInvoker:
    """Answers invocations from a script per function binary and records them."""

    def __init__(self, **results: gw.Invocation):
        self.results = results
        self.calls: list[tuple[str, dict, float]] = []

    def invoke(self, function: FunctionSpec, event: dict, timeout_s: float) -> gw.Invocation:
        self.calls.append((function.binary, event, timeout_s))
        return self.results[function.binary]

    def calls_to(self, binary: str) -> list[dict]:
        return [event for name, event, _ in self.calls if name == binary]


ALLOW = gw.Invocation(payload={"isAuthorized": True, "context": {"user_id": "u", "org_id": "o", "role": "admin"}})
OK = gw.Invocation(payload={"statusCode": 200, "headers": {"content-type": "application/json"}, "body": "{}"})
AUTHORIZED_REQUEST = request(headers=[("Authorization", "Bearer t")])


def make_gateway(invoker: ScriptedInvoker, routes=None, cache: gw.AuthorizerCache | None = None) -> gw.Gateway:
    return gw.Gateway(routes or [route("GET", "/billing/customer")], invoker, cache or gw.AuthorizerCache(), 3000)


def test_the_function_gets_the_authorizer_context():
    invoker = ScriptedInvoker(authorizer=ALLOW, customer=OK)
    response = make_gateway(invoker).handle(AUTHORIZED_REQUEST)
    assert response.status == 200
    (event,) = invoker.calls_to("customer")
    assert event["requestContext"]["authorizer"] == {"lambda": {"user_id": "u", "org_id": "o", "role": "admin"}}
    assert dict(response.headers)["apigw-requestid"] == event["requestContext"]["requestId"]


@pytest.mark.parametrize("headers", [[], [("Authorization", "")]])
def test_a_missing_identity_is_a_401_without_calling_the_authorizer(headers):
    invoker = ScriptedInvoker()
    response = make_gateway(invoker).handle(request(headers=headers))
    assert (response.status, json.loads(response.body)) == (401, {"message": "Unauthorized"})
    assert invoker.calls == []


def test_a_route_without_authorizer_skips_it():
    invoker = ScriptedInvoker(customer=OK)
    response = make_gateway(invoker, [route("POST", "/billing/webhooks/stripe", authorizer=None)]).handle(
        request("POST", "/billing/webhooks/stripe")
    )
    assert response.status == 200
    assert "authorizer" not in invoker.calls_to("customer")[0]["requestContext"]


def test_decisions_are_cached_per_token_and_denials_too():
    invoker = ScriptedInvoker(authorizer=gw.Invocation(payload={"isAuthorized": False}), customer=OK)
    gateway = make_gateway(invoker)
    assert [gateway.handle(AUTHORIZED_REQUEST).status for _ in range(3)] == [403, 403, 403]
    assert len(invoker.calls_to("authorizer")) == 1
    gateway.handle(request(headers=[("Authorization", "Bearer other")]))
    assert len(invoker.calls_to("authorizer")) == 2


def test_without_the_cache_every_request_is_authorized_again():
    invoker = ScriptedInvoker(authorizer=ALLOW, customer=OK)
    gateway = make_gateway(invoker, cache=gw.AuthorizerCache(enabled=False))
    gateway.handle(AUTHORIZED_REQUEST)
    gateway.handle(AUTHORIZED_REQUEST)
    assert len(invoker.calls_to("authorizer")) == 2


def test_unknown_routes_are_not_found():
    response = make_gateway(ScriptedInvoker()).handle(request(target="/nope"))
    assert (response.status, response.body) == (404, b'{"message":"Not Found"}')


@pytest.mark.parametrize(
    "function_timeout_s, result, status",
    [
        (10, gw.Invocation(error={"errorType": "Panic", "errorMessage": "boom"}), 500),
        (10, gw.Invocation(payload={"statusCode": "bad"}), 500),
        (10, gw.Invocation(timed_out=True), 500),  # Lambda's own timeout: a function error
        (60, gw.Invocation(timed_out=True), 503),  # API Gateway's 30 s integration limit
    ],
)
def test_function_failures_become_api_gateway_errors(function_timeout_s, result, status):
    invoker = ScriptedInvoker(authorizer=ALLOW, slow=result)
    slow_route = route("GET", "/billing/customer", function=FunctionSpec("Slow", "slow", {}, function_timeout_s))
    response = make_gateway(invoker, [slow_route]).handle(AUTHORIZED_REQUEST)
    assert response.status == status
    assert min(function_timeout_s, gw.INTEGRATION_TIMEOUT_S) == invoker.calls[-1][2]


# ------------------------------------------------------------------------------------------------
# The HTTP server


@pytest.fixture
def served_gateway():
    invoker = ScriptedInvoker(authorizer=ALLOW, customer=gw.Invocation(payload={"statusCode": 201, "body": "created"}))
    (port,) = free_ports(1)
    server = gw.make_server(make_gateway(invoker, [route("POST", "/billing/customer")]), "127.0.0.1", port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield port, invoker
    server.shutdown()
    server.server_close()


def test_the_server_keeps_connections_alive_and_reads_chunked_bodies(served_gateway):
    port, invoker = served_gateway
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    for body in (b'{"a":1}', iter([b'{"b":', b"2}"])):  # the iterator is sent chunked
        connection.request("POST", "/billing/customer", body=body, headers=headers)
        response = connection.getresponse()
        assert (response.status, response.read()) == (201, b"created")
    connection.close()
    assert [event["body"] for event in invoker.calls_to("customer")] == ['{"a":1}', '{"b":2}']


def test_the_server_refuses_bodies_over_10_mb(served_gateway):
    port, invoker = served_gateway
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.putrequest("POST", "/billing/customer")
    connection.putheader("Content-Length", str(gw.MAX_REQUEST_BODY_BYTES + 1))
    connection.endheaders()
    response = connection.getresponse()
    assert (response.status, response.read()) == (413, b'{"message":"Request Entity Too Large"}')
    connection.close()
    assert invoker.calls == []


def test_the_server_answers_a_malformed_content_length_with_400(served_gateway):
    port, invoker = served_gateway
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"POST /billing/customer HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n")
        reply = sock.makefile("rb").read()
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert reply.endswith(b'{"message":"Bad Request"}')
    assert invoker.calls == []


# ------------------------------------------------------------------------------------------------
# The template model


TEMPLATE = {
    "Parameters": {
        "Flag": {"Type": "String", "Default": "on"},
        "Name": {"Type": "String"},
        "Empty": {"Type": "String", "Default": ""},
    },
    "Conditions": {"HasEmpty": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Empty"}, ""]}]}},
    "Globals": {
        "Function": {"Timeout": 7, "Environment": {"Variables": {"FLAG": {"Ref": "Flag"}, "SHARED": "global"}}}
    },
    "Resources": {
        "Api": {
            "Type": "AWS::Serverless::HttpApi",
            "Properties": {
                "Auth": {
                    "DefaultAuthorizer": "Auth",
                    "Authorizers": {
                        "Auth": {
                            "FunctionArn": {"Fn::GetAtt": ["AuthFn", "Arn"]},
                            "EnableSimpleResponses": True,
                            "Identity": {"Headers": ["Authorization"], "ReauthorizeEvery": 60},
                        }
                    },
                }
            },
        },
        "AuthFn": {"Type": "AWS::Serverless::Function", "Metadata": {"BuildProperties": {"Binary": "authorizer"}}},
        "Fn": {
            "Type": "AWS::Serverless::Function",
            "Metadata": {"BuildProperties": {"Binary": "thing"}},
            "Properties": {
                "Timeout": 3,
                "Environment": {
                    "Variables": {
                        "SHARED": "own",
                        "TABLE": {"Ref": "Table"},
                        "TABLE_ARN": {"Fn::GetAtt": "Table.Arn"},
                        "SUB": {"Fn::Sub": "${Name}@${AWS::Region}/${!Literal}"},
                        "MAYBE": {"Fn::If": ["HasEmpty", "yes", {"Ref": "AWS::NoValue"}]},
                    }
                },
                "Events": {
                    "Get": {
                        "Type": "HttpApi",
                        "Properties": {"ApiId": {"Ref": "Api"}, "Path": "/things/{id}", "Method": "get"},
                    },
                    "Hook": {
                        "Type": "HttpApi",
                        "Properties": {
                            "ApiId": {"Ref": "Api"},
                            "Path": "/hook",
                            "Method": "POST",
                            "Auth": {"Authorizer": "NONE"},
                        },
                    },
                    "Queue": {"Type": "SQS", "Properties": {}},
                },
            },
        },
        "Table": {
            "Type": "AWS::DynamoDB::Table",
            "Properties": {"TableName": {"Fn::Sub": "${Name}_table"}, "KeySchema": []},
        },
    },
}


def test_the_template_resolves_parameters_globals_and_intrinsics():
    template = Template(TEMPLATE, {"Name": "n"})
    function = template.functions()["Fn"]
    assert function.timeout_s == 3 and template.functions()["AuthFn"].timeout_s == 7
    assert function.env == {
        "FLAG": "on",
        "SHARED": "own",
        "TABLE": "n_table",
        "TABLE_ARN": "arn:aws:dynamodb:us-east-1:123456789012:table/n_table",
        "SUB": "n@us-east-1/${Literal}",
    }
    assert Template(TEMPLATE, {"Name": "n", "Empty": "x"}).functions()["Fn"].env["MAYBE"] == "yes"
    assert template.table_definitions() == [{"TableName": "n_table", "KeySchema": []}]


def test_the_template_gives_routes_with_their_authorizer():
    routes = {r.route_key: r for r in Template(TEMPLATE, {"Name": "n"}).routes()}
    assert set(routes) == {"GET /things/{id}", "POST /hook"}
    authorizer = routes["GET /things/{id}"].authorizer
    assert (authorizer.function.binary, authorizer.identity_headers, authorizer.reauthorize_every_s) == (
        "authorizer",
        ("authorization",),
        60,
    )
    assert routes["POST /hook"].authorizer is None
    assert [r.route_key for r in Template(TEMPLATE, {"Name": "n"}).webhook_routes()] == ["POST /hook"]


def test_a_parameter_without_default_or_local_value_is_an_error():
    with pytest.raises(TemplateError, match="Name"):
        Template(TEMPLATE)
