"""The Python baseline of tests/bench: GET /billing/customer as a typical Python Lambda would do it.

Init (module import, counted in cold start like the Rust functions' init): boto3 clients, the
`stripe` package imported and its API key read from Secrets Manager. Each invocation: one DynamoDB
GetItem on the org's record. Run under awslambdaric (pinned in tests/bench/requirements.txt).
"""

import json
import os

import boto3
import stripe

_TABLE = os.environ["BILLING_CUSTOMERS_TABLE"]
_dynamodb = boto3.client("dynamodb")
_secret = json.loads(
    boto3.client("secretsmanager").get_secret_value(SecretId=os.environ["STRIPE_SECRET_ID"])["SecretString"]
)
stripe.api_key = _secret["api_key"]
if os.environ.get("STRIPE_API_BASE"):
    stripe.api_base = os.environ["STRIPE_API_BASE"]


def _answer(status, body, request_id):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json", "apigw-requestid": request_id},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }


def handler(event, context):
    request_id = event["requestContext"]["requestId"]
    org_id = event["requestContext"]["authorizer"]["lambda"]["org_id"]
    item = _dynamodb.get_item(TableName=_TABLE, Key={"org_id": {"S": org_id}}, ConsistentRead=True).get("Item")
    if not item or "unlinked_at" in item:
        error = {"code": "customer_not_found", "message": "no billing customer", "request_id": request_id}
        return _answer(404, {"error": error}, request_id)
    body = {
        "org_id": org_id,
        "stripe_customer_id": item["stripe_customer_id"]["S"],
        "created_at": item.get("created_at", {}).get("S"),
    }
    return _answer(200, body, request_id)
