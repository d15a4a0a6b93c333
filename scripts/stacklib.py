"""Shared pieces of the local stack: where things are, the local settings, the SAM template model
and the dev JWT.

Used by scripts/dev_stack.py, scripts/local_gateway.py, scripts/dev-token and tests/e2e. Everything
here is local-only: the dev JWT secret is public and must never protect anything real.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from samtranslator.yaml_helper import yaml_parse

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = REPO_ROOT / ".venv" / "bin"
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

LOCAL_HOST = "127.0.0.1"
LOCAL_REGION = "us-east-1"
LOCAL_ACCOUNT_ID = "123456789012"

# The HS256 secret of the local authorizer. Public on purpose (documented in the README): it only
# ever guards 127.0.0.1.
DEV_JWT_SECRET = "local-dev-only-hs256-secret-do-not-use-in-prod"
DEV_JWT_ISSUER = "billing-local-dev"
DEV_JWT_AUDIENCE = "billing-api"
DEV_JWT_SECRET_NAME = "billing/local-jwt"
DEV_JWT_DEFAULT_USER = "user_local_dev"
DEV_JWT_DEFAULT_TTL_S = 3600
DEV_STRIPE_API_KEY = "sk_test_local_dev"

# Template parameters that differ locally from their template defaults.
LOCAL_PARAMETER_OVERRIDES = {
    "JwtHs256SecretName": DEV_JWT_SECRET_NAME,
    "JwtIssuer": DEV_JWT_ISSUER,
    "JwtAudience": DEV_JWT_AUDIENCE,
    "AppPublicUrl": "http://127.0.0.1:3001",
}

# Lambda's default timeout is 3 s, but the local gateway waits up to API Gateway's integration limit
# when the template sets none: debug builds started by `cargo run` are slower than release builds.
DEFAULT_FUNCTION_TIMEOUT_S = 30


# ------------------------------------------------------------------------------------------------
# Dev JWT


def mint_token(
    org_id: str,
    role: str,
    *,
    user_id: str = DEV_JWT_DEFAULT_USER,
    ttl_s: int = DEV_JWT_DEFAULT_TTL_S,
    expired: bool = False,
    issuer: str = DEV_JWT_ISSUER,
    audience: str = DEV_JWT_AUDIENCE,
    secret: str = DEV_JWT_SECRET,
    algorithm: str = "HS256",
) -> str:
    """A bearer token for the local authorizer; the keyword arguments exist to mint bad ones too."""
    now = int(time.time())
    # An expired token is one that was valid once: issued ttl ago, expired a minute ago (beyond
    # any reasonable clock-skew leeway).
    issued_at = now - ttl_s - 60 if expired else now
    claims = {
        "sub": user_id,
        "org_id": org_id,
        "role": role,
        "iss": issuer,
        "aud": audience,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": issued_at + ttl_s,
    }
    key = None if algorithm == "none" else secret
    return jwt.encode(claims, key, algorithm=algorithm)


# ------------------------------------------------------------------------------------------------
# SAM template model


class TemplateError(Exception):
    """The template uses something the local stack cannot reproduce."""


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    binary: str  # the cargo bin name; also the function name on `cargo lambda watch`
    env: dict[str, str]
    timeout_s: int


@dataclass(frozen=True)
class AuthorizerSpec:
    name: str
    function: FunctionSpec
    identity_headers: tuple[str, ...]  # lowercased header names
    reauthorize_every_s: int
    simple_responses: bool


@dataclass(frozen=True)
class RouteSpec:
    method: str  # upper case, or "ANY"; "$default" routes have method "ANY"
    path: str  # "/billing/customer/{id}", or "$default"
    function: FunctionSpec
    authorizer: AuthorizerSpec | None

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


_NO_VALUE = object()  # AWS::NoValue: the enclosing key or list item disappears
_PSEUDO_PARAMETERS = {
    "AWS::Region": LOCAL_REGION,
    "AWS::AccountId": LOCAL_ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": "billing-local",
    "AWS::NoValue": _NO_VALUE,
}


class Template:
    """template.yaml with its parameters bound to local values and its intrinsics resolved."""

    def __init__(self, document: dict, parameter_overrides: dict[str, str] | None = None):
        self._doc = document
        self._resources: dict[str, dict] = document.get("Resources", {})
        self.parameters = self._bind_parameters(parameter_overrides or {})

    @classmethod
    def load(cls, path: Path = TEMPLATE_PATH, parameter_overrides: dict[str, str] | None = None) -> Template:
        # SAM's own YAML loader understands the short-form intrinsics (!Ref, !GetAtt, !Sub, !If).
        return cls(yaml_parse(Path(path).read_text()), parameter_overrides)

    def _bind_parameters(self, overrides: dict[str, str]) -> dict[str, str]:
        bound = {}
        for name, spec in self._doc.get("Parameters", {}).items():
            if name in overrides:
                bound[name] = str(overrides[name])
            elif "Default" in spec:
                bound[name] = str(spec["Default"])
            else:
                raise TemplateError(f"parameter {name} has no Default and no local value")
        return bound

    # -- resources ---------------------------------------------------------------------------

    def _resources_of_type(self, resource_type: str) -> dict[str, dict]:
        return {lid: res for lid, res in self._resources.items() if res.get("Type") == resource_type}

    def table_definitions(self) -> list[dict]:
        """Resolved `Properties` of every AWS::DynamoDB::Table."""
        return [self.resolve(res["Properties"]) for res in self._resources_of_type("AWS::DynamoDB::Table").values()]

    def functions(self) -> dict[str, FunctionSpec]:
        """Every AWS::Serverless::Function by logical id, with Globals merged in."""
        global_props = self._doc.get("Globals", {}).get("Function", {})
        global_env = global_props.get("Environment", {}).get("Variables", {})
        functions = {}
        for logical_id, res in self._resources_of_type("AWS::Serverless::Function").items():
            props = res.get("Properties", {})
            binary = res.get("Metadata", {}).get("BuildProperties", {}).get("Binary")
            if not binary:
                raise TemplateError(f"{logical_id}: Metadata.BuildProperties.Binary is missing")
            # SAM merges Globals maps key by key, the function's own values winning.
            env = self.resolve({**global_env, **props.get("Environment", {}).get("Variables", {})})
            timeout = props.get("Timeout", global_props.get("Timeout", DEFAULT_FUNCTION_TIMEOUT_S))
            functions[logical_id] = FunctionSpec(
                logical_id=logical_id,
                binary=binary,
                env={name: str(value) for name, value in env.items()},
                timeout_s=int(self.resolve(timeout)),
            )
        return functions

    def routes(self) -> list[RouteSpec]:
        """Every HttpApi event of every function, with the authorizer that guards it."""
        functions = self.functions()
        routes = []
        for logical_id, res in self._resources_of_type("AWS::Serverless::Function").items():
            for event_name, event in res.get("Properties", {}).get("Events", {}).items():
                if event.get("Type") != "HttpApi":
                    continue
                props = event.get("Properties", {})
                where = f"{logical_id}.Events.{event_name}"
                if str(props.get("PayloadFormatVersion", "2.0")) != "2.0":
                    raise TemplateError(f"{where}: the local gateway speaks payload format 2.0 only")
                routes.append(
                    RouteSpec(
                        method=str(props.get("Method", "ANY")).upper(),
                        path=props.get("Path", "$default"),
                        function=functions[logical_id],
                        authorizer=self._route_authorizer(props, functions, where),
                    )
                )
        return routes

    def _route_authorizer(
        self, event_props: dict, functions: dict[str, FunctionSpec], where: str
    ) -> AuthorizerSpec | None:
        api_auth = self._api_properties(event_props.get("ApiId"), where).get("Auth", {})
        name = event_props.get("Auth", {}).get("Authorizer", api_auth.get("DefaultAuthorizer"))
        if name is None or name == "NONE":
            return None
        config = api_auth.get("Authorizers", {}).get(name)
        if config is None:
            raise TemplateError(f"{where}: authorizer {name} is not defined on its HttpApi")
        function_arn = config.get("FunctionArn")
        if not (isinstance(function_arn, dict) and "Fn::GetAtt" in function_arn):
            raise TemplateError(f"{where}: authorizer {name} is not a Lambda authorizer (!GetAtt <Function>.Arn)")
        function_id = _get_att_parts(function_arn["Fn::GetAtt"])[0]
        identity = config.get("Identity", {})
        return AuthorizerSpec(
            name=name,
            function=functions[function_id],
            identity_headers=tuple(h.lower() for h in identity.get("Headers", [])),
            reauthorize_every_s=int(identity.get("ReauthorizeEvery", 300)),
            simple_responses=bool(config.get("EnableSimpleResponses", False)),
        )

    def _api_properties(self, api_id: Any, where: str) -> dict:
        if api_id is None:  # the implicit API SAM creates; configured through Globals.HttpApi
            return self._doc.get("Globals", {}).get("HttpApi", {})
        if not (isinstance(api_id, dict) and api_id.get("Ref") in self._resources):
            raise TemplateError(f"{where}: ApiId must be !Ref <an AWS::Serverless::HttpApi resource>")
        return self._resources[api_id["Ref"]].get("Properties", {})

    def webhook_routes(self) -> list[RouteSpec]:
        """Routes callable without the authorizer by POST: where Stripe delivers webhooks."""
        return [r for r in self.routes() if r.authorizer is None and r.method == "POST"]

    # -- intrinsic functions -----------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Replaces the intrinsics the template uses by their local values."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key == "Ref" or key.startswith("Fn::"):
                    return self._intrinsic(key, arg)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
        if isinstance(value, list):
            return [item for item in map(self.resolve, value) if item is not _NO_VALUE]
        return value

    def _intrinsic(self, key: str, arg: Any) -> Any:
        if key == "Ref":
            return self._ref(arg)
        if key == "Fn::If":
            condition, if_true, if_false = arg
            return self.resolve(if_true if self._condition(condition) else if_false)
        if key == "Fn::Sub":
            return self._sub(arg)
        if key == "Fn::GetAtt":
            return self._get_att(*_get_att_parts(arg))
        if key == "Fn::Join":
            separator, items = arg
            return separator.join(str(item) for item in self.resolve(items))
        raise TemplateError(f"the local stack cannot resolve {key}")

    def _ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        if name in _PSEUDO_PARAMETERS:
            return _PSEUDO_PARAMETERS[name]
        resource = self._resources.get(name)
        if resource is None:
            raise TemplateError(f"!Ref {name}: no such parameter or resource")
        if resource["Type"] == "AWS::DynamoDB::Table":
            return self.resolve(resource["Properties"]["TableName"])
        if resource["Type"] == "AWS::Serverless::Function":
            return self.functions()[name].binary
        raise TemplateError(f"!Ref {name}: the local stack cannot resolve a {resource['Type']}")

    def _get_att(self, name: str, attribute: str) -> str:
        resource = self._resources.get(name, {})
        if resource.get("Type") == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:table/{self._ref(name)}"
        if resource.get("Type") == "AWS::Serverless::Function" and attribute == "Arn":
            return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self._ref(name)}"
        raise TemplateError(f"!GetAtt {name}.{attribute}: not resolvable locally")

    def _sub(self, arg: str | list) -> str:
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def substitute(match: re.Match) -> str:
            expression = match.group(1)
            if expression.startswith("!"):  # ${!Literal} stands for the text ${Literal}
                return "${" + expression[1:] + "}"
            if expression in variables:
                return str(variables[expression])
            if "." in expression:
                return self._get_att(*expression.split(".", 1))
            return str(self._ref(expression))

        return re.sub(r"\$\{([^}]+)\}", substitute, text)

    def _condition(self, condition: Any) -> bool:
        if isinstance(condition, str):  # a name from the Conditions section
            return self._condition(self._doc.get("Conditions", {})[condition])
        ((key, arg),) = condition.items()
        if key == "Fn::Equals":
            left, right = (str(self.resolve(side)) for side in arg)
            return left == right
        if key == "Fn::Not":
            return not self._condition(arg[0])
        if key == "Fn::And":
            return all(self._condition(c) for c in arg)
        if key == "Fn::Or":
            return any(self._condition(c) for c in arg)
        if key == "Condition":
            return self._condition(arg)
        raise TemplateError(f"the local stack cannot evaluate the condition {key}")


def _get_att_parts(arg: str | list) -> tuple[str, str]:
    """`!GetAtt A.Arn` parses to "A.Arn" or ["A", "Arn"] depending on the form used."""
    name, attribute = arg.split(".", 1) if isinstance(arg, str) else arg
    return name, attribute


# ------------------------------------------------------------------------------------------------
# AWS clients on moto


def aws_client(service: str, endpoint_url: str):
    """A boto3 client for moto's server: the local region and dummy keys (moto accepts any)."""
    import boto3  # imported on use: half a second the gateway and dev-token need not pay

    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=LOCAL_REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


# The CreateTable arguments a CloudFormation table definition carries over as they are.
CREATE_TABLE_KEYS = (
    "TableName",
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "GlobalSecondaryIndexes",
    "LocalSecondaryIndexes",
    "StreamSpecification",
)


def create_tables(template: Template, moto_url: str) -> None:
    dynamodb = aws_client("dynamodb", moto_url)
    for definition in template.table_definitions():
        dynamodb.create_table(**{key: definition[key] for key in CREATE_TABLE_KEYS if key in definition})
        ttl = definition.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            dynamodb.update_time_to_live(
                TableName=definition["TableName"],
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
