"""template.yaml, transformed to plain CloudFormation by the SAM translator, grants each function
exactly the IAM actions its code calls, on the project's own resources only."""

import os
import pathlib

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator.translator.transform import transform  # noqa: E402
from samtranslator.yaml_helper import yaml_parse  # noqa: E402

TEMPLATE = pathlib.Path(__file__).resolve().parents[2] / "template.yaml"

# One row per function: the AWS actions its code calls (see shared/src/store.rs, secrets.rs).
# The authorizer reads its HS256 secret only when JwtHs256SecretName is set (conditional grant).
EXPECTED_ACTIONS = {
    "AuthorizerFunction": {"secretsmanager:GetSecretValue"},
    "GetCustomerFunction": {"dynamodb:GetItem"},
    "EnsureCustomerFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue"},
    # Portal and SetupIntent ensure the customer first (get + conditional put).
    "CreatePortalSessionFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue"},
    "CreateSetupIntentFunction": {"dynamodb:GetItem", "dynamodb:PutItem", "secretsmanager:GetSecretValue"},
    "ListPaymentMethodsFunction": {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
    "SetDefaultPaymentMethodFunction": {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
    "DetachPaymentMethodFunction": {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
    "ListPlansFunction": {"secretsmanager:GetSecretValue"},
    "GetSubscriptionFunction": {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
    "PreviewInvoiceFunction": {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
    # Start ensures the customer (put) and records the subscription (update).
    "StartSubscriptionFunction": {
        "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"
    },
    "ChangePlanFunction": {"dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
    "CancelSubscriptionFunction": {"dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
    "ListInvoicesFunction": {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
    "PayInvoiceFunction": {"dynamodb:GetItem", "secretsmanager:GetSecretValue"},
    "ResumeSubscriptionFunction": {"dynamodb:GetItem", "dynamodb:UpdateItem", "secretsmanager:GetSecretValue"},
    # Org lookup by customer (index), the synced copy, the event log's claims (put, done, release).
    "StripeWebhookFunction": {
        "dynamodb:Query", "dynamodb:UpdateItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem",
        "secretsmanager:GetSecretValue",
    },
}
# Routes that authenticate by other means (the Stripe webhook signature).
ROUTES_WITHOUT_AUTHORIZER = {("POST", "/billing/webhooks/stripe")}


class NoManagedPolicies:
    """Stands in for the IAM look-up of managed policy ARNs (no AWS account here)."""

    def load(self):
        return {}


@pytest.fixture(scope="module")
def sam():
    return yaml_parse(TEMPLATE.read_text())


@pytest.fixture(scope="module")
def cfn(sam):
    document = yaml_parse(TEMPLATE.read_text())
    for resource in document["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = "s3://placeholder/code.zip"
    document.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    return transform(document, {}, NoManagedPolicies())


def functions(sam):
    return {n: r for n, r in sam["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}


def statements(policy_document):
    """Statements of a policy, looking through Fn::If branches (both are possible grants)."""
    found = []
    items = policy_document if isinstance(policy_document, list) else [policy_document]
    for item in items:
        if isinstance(item, dict) and "Fn::If" in item:
            found.extend(statements(item["Fn::If"][1:]))
        elif isinstance(item, dict) and "Statement" in item:
            found.extend(item["Statement"])
        elif isinstance(item, dict) and "Effect" in item:
            found.append(item)
    return found


def policies(items):
    """Inline policies of a role, looking through Fn::If (either branch may be deployed)."""
    for item in items:
        if "Fn::If" in item:
            yield from policies([b for b in item["Fn::If"][1:] if isinstance(b, dict) and "Ref" not in b])
        else:
            yield item


def role_statements(cfn, function_name):
    role = cfn["Resources"][f"{function_name}Role"]
    inline = [s for p in policies(role["Properties"].get("Policies", [])) for s in statements(p["PolicyDocument"])]
    managed = role["Properties"].get("ManagedPolicyArns", [])
    return inline, managed


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_every_function_has_a_row_in_the_table(sam):
    assert set(functions(sam)) == set(EXPECTED_ACTIONS)


@pytest.mark.parametrize("function_name", sorted(EXPECTED_ACTIONS))
def test_each_function_is_granted_exactly_the_actions_it_calls(cfn, function_name):
    inline, managed = role_statements(cfn, function_name)
    granted = {action for s in inline if s["Effect"] == "Allow" for action in as_list(s["Action"])}
    assert granted == EXPECTED_ACTIONS[function_name]
    # Only the basic execution role (CloudWatch Logs) is attached beyond the inline statements.
    assert all("AWSLambdaBasicExecutionRole" in str(arn) for arn in managed), managed


@pytest.mark.parametrize("function_name", sorted(EXPECTED_ACTIONS))
def test_no_grant_uses_a_wildcard_resource(cfn, function_name):
    inline, _ = role_statements(cfn, function_name)
    for statement in inline:
        for resource in as_list(statement["Resource"]):
            assert resource != "*", statement
            text = str(resource)
            if "secretsmanager" in text:
                # The project's own secret names (+ the 6-character suffix Secrets Manager adds).
                assert "StripeSecretName" in text or "JwtHs256SecretName" in text, text
            if statement["Action"] and "dynamodb" in str(statement["Action"]):
                assert "CustomersTable" in text or "WebhookEventsTable" in text, text


def test_webhook_route_has_no_authorizer_and_every_other_route_has_it(sam, cfn):
    events = [
        (e["Properties"]["Method"].upper(), e["Properties"]["Path"], e["Properties"].get("Auth", {}))
        for f in functions(sam).values()
        for e in f["Properties"].get("Events", {}).values()
        if e["Type"] == "HttpApi"
    ]
    assert events, "no HTTP routes"
    for method, path, auth in events:
        if (method, path) in ROUTES_WITHOUT_AUTHORIZER:
            assert auth.get("Authorizer") == "NONE", (method, path)
        else:
            assert auth.get("Authorizer", "BillingAuthorizer") != "NONE", (method, path)
    # In the transformed API body, every secured path names the Lambda authorizer.
    api = cfn["Resources"]["BillingApi"]["Properties"]["Body"]
    for path, methods in api["paths"].items():
        for method, operation in methods.items():
            secured = operation.get("security", [])
            if (method.upper(), path) in ROUTES_WITHOUT_AUTHORIZER:
                assert secured in ([], [{"NONE": []}]) or all("BillingAuthorizer" not in s for s in secured)
            else:
                assert any("BillingAuthorizer" in s for s in secured), (method, path, secured)


def test_authorizer_results_are_cached_per_authorization_header(cfn):
    api = cfn["Resources"]["BillingApi"]["Properties"]["Body"]
    authorizer = api["components"]["securitySchemes"]["BillingAuthorizer"]["x-amazon-apigateway-authorizer"]
    assert authorizer["identitySource"] == ["$request.header.Authorization"]
    assert authorizer["authorizerResultTtlInSeconds"] > 0
    assert authorizer["authorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["enableSimpleResponses"] is True


def test_tables_have_point_in_time_recovery_and_the_event_table_a_ttl(cfn):
    tables = {n: r for n, r in cfn["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"}
    assert set(tables) == {"CustomersTable", "WebhookEventsTable"}
    for name, table in tables.items():
        assert table["Properties"]["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], name
        assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = tables["WebhookEventsTable"]["Properties"]["TimeToLiveSpecification"]
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}
    gsi = tables["CustomersTable"]["Properties"]["GlobalSecondaryIndexes"][0]
    assert gsi["KeySchema"] == [{"AttributeName": "stripe_customer_id", "KeyType": "HASH"}]


def test_functions_are_arm64_al2023_cargo_lambda_builds(sam):
    globals_ = sam["Globals"]["Function"]
    assert globals_["Runtime"] == "provided.al2023"
    assert globals_["Architectures"] == ["arm64"]
    for name, function in functions(sam).items():
        assert function["Metadata"]["BuildMethod"] == "rust-cargolambda", name
        binary = function["Metadata"]["BuildProperties"]["Binary"]
        assert (TEMPLATE.parent / "functions" / binary / "Cargo.toml").exists(), binary


def test_webhook_concurrency_is_reserved_from_a_parameter_that_can_turn_it_off(sam, cfn):
    parameter = sam["Parameters"]["WebhookReservedConcurrency"]
    assert parameter["Type"] == "Number" and int(parameter["Default"]) > 0 and int(parameter["MinValue"]) == 0
    reserved = cfn["Resources"]["StripeWebhookFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert reserved == {
        "Fn::If": ["ReservesWebhookConcurrency", {"Ref": "WebhookReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    others = [n for n, r in cfn["Resources"].items() if r["Type"] == "AWS::Lambda::Function" and n != "StripeWebhookFunction"]
    assert others and all("ReservedConcurrentExecutions" not in cfn["Resources"][n]["Properties"] for n in others)
