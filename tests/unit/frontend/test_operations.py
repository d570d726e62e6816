"""Each operation Nimbus serves → the IAM action and resource it is authorized on, with
literal requests: one case per operation (AWS's "Actions, resources, and condition keys for
AWS Lambda", SQS's, SNS's and IAM's)."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from starlette.routing import Route

from nimbus.frontend import operations
from nimbus.frontend.operations import OperationRequest, body_bound, needs_body, resolve
from nimbus.model.arn import Arns

ARNS = Arns(region="us-east-1", account="111122223333")
FN = "arn:aws:lambda:us-east-1:111122223333:function:fn"
LAYER = "arn:aws:lambda:us-east-1:111122223333:layer:lib"
ESM = "arn:aws:lambda:us-east-1:111122223333:event-source-mapping:"
UUID = "14e0db71-5d35-4eb5-b481-8945cf9d10c2"
CSC = "arn:aws:lambda:us-east-1:111122223333:code-signing-config:csc-0123456789abcdef0"

# (method, path, query, JSON body, operation, action, resource)
LAMBDA: list[tuple[str, str, dict[str, str], dict[str, Any], str, str, str]] = [
    ("POST", "/2015-03-31/functions", {}, {"FunctionName": "fn"}, "CreateFunction",
     "lambda:CreateFunction", FN),
    ("GET", "/2015-03-31/functions/", {}, {}, "ListFunctions", "lambda:ListFunctions", "*"),
    ("GET", "/2015-03-31/functions/fn", {}, {}, "GetFunction", "lambda:GetFunction", FN),
    ("GET", "/2015-03-31/functions/fn", {"Qualifier": "3"}, {}, "GetFunction",
     "lambda:GetFunction", FN + ":3"),
    ("DELETE", "/2015-03-31/functions/fn", {}, {}, "DeleteFunction", "lambda:DeleteFunction", FN),
    ("GET", "/2015-03-31/functions/fn:prod/configuration", {}, {}, "GetFunctionConfiguration",
     "lambda:GetFunctionConfiguration", FN + ":prod"),
    ("PUT", "/2015-03-31/functions/fn/configuration", {}, {}, "UpdateFunctionConfiguration",
     "lambda:UpdateFunctionConfiguration", FN),
    ("PUT", "/2015-03-31/functions/fn/code", {}, {}, "UpdateFunctionCode",
     "lambda:UpdateFunctionCode", FN),
    ("POST", "/2015-03-31/functions/fn/invocations", {}, {}, "Invoke", "lambda:InvokeFunction",
     FN),
    ("POST", "/2015-03-31/functions/fn/invocations", {"Qualifier": "live"}, {}, "Invoke",
     "lambda:InvokeFunction", FN + ":live"),
    ("POST", "/2015-03-31/functions/fn/versions", {}, {}, "PublishVersion",
     "lambda:PublishVersion", FN),
    ("GET", "/2015-03-31/functions/fn/versions", {}, {}, "ListVersionsByFunction",
     "lambda:ListVersionsByFunction", FN),
    ("POST", "/2015-03-31/functions/fn/aliases", {}, {}, "CreateAlias", "lambda:CreateAlias", FN),
    ("GET", "/2015-03-31/functions/fn/aliases", {}, {}, "ListAliases", "lambda:ListAliases", FN),
    ("GET", "/2015-03-31/functions/fn/aliases/prod", {}, {}, "GetAlias", "lambda:GetAlias",
     FN + ":prod"),
    ("PUT", "/2015-03-31/functions/fn/aliases/prod", {}, {}, "UpdateAlias", "lambda:UpdateAlias",
     FN + ":prod"),
    ("DELETE", "/2015-03-31/functions/fn/aliases/prod", {}, {}, "DeleteAlias",
     "lambda:DeleteAlias", FN + ":prod"),
    ("POST", "/2015-03-31/functions/fn/policy", {}, {"Principal": "s3.amazonaws.com"},
     "AddPermission", "lambda:AddPermission", FN),
    ("GET", "/2015-03-31/functions/fn/policy", {"Qualifier": "1"}, {}, "GetPolicy",
     "lambda:GetPolicy", FN + ":1"),
    ("DELETE", "/2015-03-31/functions/fn/policy/sid-1", {}, {}, "RemovePermission",
     "lambda:RemovePermission", FN),
    ("POST", "/2014-11-13/functions/fn/invoke-async/", {}, {}, "InvokeAsync",
     "lambda:InvokeAsync", FN),
    ("POST", "/2021-11-15/functions/fn/response-streaming-invocations", {}, {},
     "InvokeWithResponseStream", "lambda:InvokeFunction", FN),
    ("POST", "/2015-03-31/event-source-mappings", {}, {"FunctionName": "fn"},
     "CreateEventSourceMapping", "lambda:CreateEventSourceMapping", "*"),
    ("GET", "/2015-03-31/event-source-mappings/", {}, {}, "ListEventSourceMappings",
     "lambda:ListEventSourceMappings", "*"),
    ("GET", f"/2015-03-31/event-source-mappings/{UUID}", {}, {}, "GetEventSourceMapping",
     "lambda:GetEventSourceMapping", ESM + UUID),
    ("PUT", f"/2015-03-31/event-source-mappings/{UUID}", {}, {}, "UpdateEventSourceMapping",
     "lambda:UpdateEventSourceMapping", ESM + UUID),
    ("DELETE", f"/2015-03-31/event-source-mappings/{UUID}", {}, {}, "DeleteEventSourceMapping",
     "lambda:DeleteEventSourceMapping", ESM + UUID),
    ("GET", "/2016-08-19/account-settings/", {}, {}, "GetAccountSettings",
     "lambda:GetAccountSettings", "*"),
    ("GET", f"/2017-03-31/tags/{FN}", {}, {}, "ListTags", "lambda:ListTags", FN),
    ("POST", f"/2017-03-31/tags/{FN}", {}, {}, "TagResource", "lambda:TagResource", FN),
    ("DELETE", f"/2017-03-31/tags/{FN}", {}, {}, "UntagResource", "lambda:UntagResource", FN),
    ("PUT", "/2017-10-31/functions/fn/concurrency", {}, {}, "PutFunctionConcurrency",
     "lambda:PutFunctionConcurrency", FN),
    ("DELETE", "/2017-10-31/functions/fn/concurrency", {}, {}, "DeleteFunctionConcurrency",
     "lambda:DeleteFunctionConcurrency", FN),
    ("GET", "/2019-09-30/functions/fn/concurrency", {}, {}, "GetFunctionConcurrency",
     "lambda:GetFunctionConcurrency", FN),
    ("PUT", "/2019-09-30/functions/fn/provisioned-concurrency", {"Qualifier": "1"}, {},
     "PutProvisionedConcurrencyConfig", "lambda:PutProvisionedConcurrencyConfig", FN + ":1"),
    ("GET", "/2019-09-30/functions/fn/provisioned-concurrency", {"Qualifier": "1"}, {},
     "GetProvisionedConcurrencyConfig", "lambda:GetProvisionedConcurrencyConfig", FN + ":1"),
    ("GET", "/2019-09-30/functions/fn/provisioned-concurrency", {"List": "ALL"}, {},
     "ListProvisionedConcurrencyConfigs", "lambda:ListProvisionedConcurrencyConfigs", FN),
    ("DELETE", "/2019-09-30/functions/fn/provisioned-concurrency", {"Qualifier": "1"}, {},
     "DeleteProvisionedConcurrencyConfig", "lambda:DeleteProvisionedConcurrencyConfig",
     FN + ":1"),
    ("GET", "/2018-10-31/layers", {}, {}, "ListLayers", "lambda:ListLayers", "*"),
    ("GET", "/2018-10-31/layers", {"find": "LayerVersion", "Arn": LAYER + ":2"}, {},
     "GetLayerVersionByArn", "lambda:GetLayerVersion", LAYER + ":2"),
    ("POST", "/2018-10-31/layers/lib/versions", {}, {}, "PublishLayerVersion",
     "lambda:PublishLayerVersion", LAYER),
    ("GET", "/2018-10-31/layers/lib/versions", {}, {}, "ListLayerVersions",
     "lambda:ListLayerVersions", "*"),
    ("GET", "/2018-10-31/layers/lib/versions/2", {}, {}, "GetLayerVersion",
     "lambda:GetLayerVersion", LAYER + ":2"),
    ("GET", f"/2018-10-31/layers/{LAYER}/versions/2", {}, {}, "GetLayerVersion",
     "lambda:GetLayerVersion", LAYER + ":2"),
    ("DELETE", "/2018-10-31/layers/lib/versions/2", {}, {}, "DeleteLayerVersion",
     "lambda:DeleteLayerVersion", LAYER + ":2"),
    ("POST", "/2018-10-31/layers/lib/versions/2/policy", {}, {}, "AddLayerVersionPermission",
     "lambda:AddLayerVersionPermission", LAYER + ":2"),
    ("GET", "/2018-10-31/layers/lib/versions/2/policy", {}, {}, "GetLayerVersionPolicy",
     "lambda:GetLayerVersionPolicy", LAYER + ":2"),
    ("DELETE", "/2018-10-31/layers/lib/versions/2/policy/s1", {}, {},
     "RemoveLayerVersionPermission", "lambda:RemoveLayerVersionPermission", LAYER + ":2"),
    ("PUT", "/2019-09-25/functions/fn/event-invoke-config", {}, {},
     "PutFunctionEventInvokeConfig", "lambda:PutFunctionEventInvokeConfig", FN),
    ("POST", "/2019-09-25/functions/fn/event-invoke-config", {"Qualifier": "live"}, {},
     "UpdateFunctionEventInvokeConfig", "lambda:UpdateFunctionEventInvokeConfig", FN + ":live"),
    ("GET", "/2019-09-25/functions/fn/event-invoke-config", {}, {},
     "GetFunctionEventInvokeConfig", "lambda:GetFunctionEventInvokeConfig", FN),
    ("DELETE", "/2019-09-25/functions/fn/event-invoke-config", {}, {},
     "DeleteFunctionEventInvokeConfig", "lambda:DeleteFunctionEventInvokeConfig", FN),
    ("GET", "/2019-09-25/functions/fn/event-invoke-config/list", {}, {},
     "ListFunctionEventInvokeConfigs", "lambda:ListFunctionEventInvokeConfigs", FN),
    ("POST", "/2020-04-22/code-signing-configs/", {}, {}, "CreateCodeSigningConfig",
     "lambda:CreateCodeSigningConfig", "*"),
    ("GET", "/2020-04-22/code-signing-configs/", {}, {}, "ListCodeSigningConfigs",
     "lambda:ListCodeSigningConfigs", "*"),
    ("GET", f"/2020-04-22/code-signing-configs/{CSC}", {}, {}, "GetCodeSigningConfig",
     "lambda:GetCodeSigningConfig", CSC),
    ("PUT", f"/2020-04-22/code-signing-configs/{CSC}", {}, {}, "UpdateCodeSigningConfig",
     "lambda:UpdateCodeSigningConfig", CSC),
    ("DELETE", f"/2020-04-22/code-signing-configs/{CSC}", {}, {}, "DeleteCodeSigningConfig",
     "lambda:DeleteCodeSigningConfig", CSC),
    ("GET", f"/2020-04-22/code-signing-configs/{CSC}/functions", {}, {},
     "ListFunctionsByCodeSigningConfig", "lambda:ListFunctionsByCodeSigningConfig", CSC),
    ("PUT", "/2020-06-30/functions/fn/code-signing-config", {}, {"CodeSigningConfigArn": CSC},
     "PutFunctionCodeSigningConfig", "lambda:PutFunctionCodeSigningConfig", FN),
    ("GET", "/2020-06-30/functions/fn/code-signing-config", {}, {},
     "GetFunctionCodeSigningConfig", "lambda:GetFunctionCodeSigningConfig", FN),
    ("DELETE", "/2020-06-30/functions/fn/code-signing-config", {}, {},
     "DeleteFunctionCodeSigningConfig", "lambda:DeleteFunctionCodeSigningConfig", FN),
    ("GET", "/2021-07-20/functions/fn/runtime-management-config", {}, {},
     "GetRuntimeManagementConfig", "lambda:GetRuntimeManagementConfig", FN),
    ("PUT", "/2021-07-20/functions/fn/runtime-management-config", {}, {},
     "PutRuntimeManagementConfig", "lambda:PutRuntimeManagementConfig", FN),
    ("POST", "/2021-10-31/functions/fn/url", {}, {}, "CreateFunctionUrlConfig",
     "lambda:CreateFunctionUrlConfig", FN),
    ("GET", "/2021-10-31/functions/fn/url", {}, {}, "GetFunctionUrlConfig",
     "lambda:GetFunctionUrlConfig", FN),
    ("PUT", "/2021-10-31/functions/fn/url", {}, {}, "UpdateFunctionUrlConfig",
     "lambda:UpdateFunctionUrlConfig", FN),
    ("DELETE", "/2021-10-31/functions/fn/url", {}, {}, "DeleteFunctionUrlConfig",
     "lambda:DeleteFunctionUrlConfig", FN),
    ("GET", "/2021-10-31/functions/fn/urls", {}, {}, "ListFunctionUrlConfigs",
     "lambda:ListFunctionUrlConfigs", FN),
    ("GET", "/2024-08-31/functions/fn/recursion-config", {}, {}, "GetFunctionRecursionConfig",
     "lambda:GetFunctionRecursionConfig", FN),
    ("PUT", "/2024-08-31/functions/fn/recursion-config", {}, {}, "PutFunctionRecursionConfig",
     "lambda:PutFunctionRecursionConfig", FN),
    ("GET", f"/2026-07-09/resource-policy/{FN}", {}, {}, "GetResourcePolicy",
     "lambda:GetResourcePolicy", FN),
    ("PUT", f"/2026-07-09/resource-policy/{FN}", {}, {}, "PutResourcePolicy",
     "lambda:PutResourcePolicy", FN),
    ("DELETE", f"/2026-07-09/resource-policy/{FN}", {}, {}, "DeleteResourcePolicy",
     "lambda:DeleteResourcePolicy", FN),
    # Nimbus's own routes
    ("GET", "/_nimbus/logs/fn", {}, {}, "FilterLogEvents", "logs:FilterLogEvents",
     "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/fn:log-stream:"),
    ("GET", "/_nimbus/metrics", {}, {}, "GetMetrics", "nimbus:GetMetrics", "*"),
    ("GET", "/metrics", {}, {}, "GetMetrics", "nimbus:GetMetrics", "*"),
    ("GET", "/_nimbus/environments", {}, {}, "ListEnvironments", "nimbus:ListEnvironments", "*"),
    ("GET", "/_nimbus/code/" + "a" * 64 + ".zip", {}, {}, "DownloadCode", "lambda:GetFunction",
     "*"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "name", "action", "resource"),
    LAMBDA,
    ids=[f"{case[4]}-{i}" for i, case in enumerate(LAMBDA)],
)
def test_lambda_and_nimbus_operations(
    method: str,
    path: str,
    query: dict[str, str],
    body: dict[str, Any],
    name: str,
    action: str,
    resource: str,
) -> None:
    op = resolve(OperationRequest(method=method, path=path, query=query, params=body), ARNS)
    assert (op.name, op.action, op.resource) == (name, action, resource)


def test_a_function_named_by_another_regions_or_accounts_arn_is_authorized_on_that_arn() -> None:
    other = "arn:aws:lambda:eu-west-1:444455556666:function:theirs"
    op = resolve(OperationRequest(method="GET", path=f"/2015-03-31/functions/{other}"), ARNS)
    assert op.resource == other
    partial = resolve(
        OperationRequest(method="GET", path="/2015-03-31/functions/444455556666:function:f:7"),
        ARNS,
    )
    assert partial.resource == "arn:aws:lambda:us-east-1:444455556666:function:f:7"


def test_head_is_the_get_operation() -> None:
    for path in ("/2015-03-31/functions/fn", "/2015-03-31/functions/", "/_nimbus/metrics"):
        head = resolve(OperationRequest(method="HEAD", path=path), ARNS)
        get = resolve(OperationRequest(method="GET", path=path), ARNS)
        assert head == get and head.action is not None
    assert body_bound("HEAD", "/2015-03-31/functions/fn") == (6 * 1024 * 1024, "GetFunction")


OTHER_CSC = CSC.replace("arn:aws:lambda:us-east-1:111122223333:", "arn:aws-x:lambda:eu-west-1:4:")
# (method, path, query, the canonical resource): every spelling a handler accepts for one
# resource is authorized as that resource (a Deny on it is not passed by another spelling).
CANONICAL: list[tuple[str, str, dict[str, str], str]] = [
    ("GET", f"/2017-03-31/tags/{FN.replace('arn:aws:', 'arn:aws-x:')}", {}, FN),
    ("GET", f"/2017-03-31/tags/{FN.replace('arn:aws:', 'arn::')}", {}, FN),
    ("POST", f"/2017-03-31/tags/{FN.replace('arn:aws:', 'arn:aws-cn:')}", {}, FN),
    ("GET", f"/2026-07-09/resource-policy/{FN}:$LATEST", {}, FN),
    ("PUT", f"/2026-07-09/resource-policy/arn:aws-us-gov{FN[7:]}:live", {}, FN + ":live"),
    ("GET", "/2015-03-31/functions/fn:$LATEST", {}, FN),
    ("GET", "/2015-03-31/functions/fn", {"Qualifier": "$LATEST"}, FN),
    ("POST", "/2015-03-31/functions/fn/invocations", {"Qualifier": "$LATEST"}, FN),
    ("GET", f"/2015-03-31/functions/{FN.replace('arn:aws:', 'arn:aws-x:')}:$LATEST", {}, FN),
    ("GET", f"/2020-04-22/code-signing-configs/{OTHER_CSC}", {}, CSC),
    ("DELETE", f"/2020-04-22/code-signing-configs/{CSC.replace('arn:aws:', 'arn::')}", {}, CSC),
    ("GET", f"/2018-10-31/layers/{LAYER.replace('arn:aws:', 'arn:aws-x:')}/versions/02", {},
     LAYER + ":2"),
    ("POST", f"/2018-10-31/layers/{LAYER.replace('arn:aws:', 'arn::')}/versions", {}, LAYER),
    ("GET", "/2018-10-31/layers", {"find": "LayerVersion", "Arn": f"arn:aws-x{LAYER[7:]}:007"},
     LAYER + ":7"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "query", "resource"), CANONICAL)
def test_every_spelling_of_a_resource_is_authorized_as_its_canonical_arn(
    method: str, path: str, query: dict[str, str], resource: str
) -> None:
    got = resolve(OperationRequest(method=method, path=path, query=query), ARNS)
    assert got.resource == resource


@pytest.mark.parametrize(
    "topic",
    [
        "arn:aws-x:sns:us-east-1:111122223333:news",
        "arn:aws:sns:eu-west-1:111122223333:news",
        "arn:aws:sns:us-east-1:444455556666:news",
        "x:y:sqs:w:v:news",  # DeleteTopic reads only the sixth field
    ],
)
def test_a_topic_arn_is_authorized_as_the_topic_sns_acts_on(topic: str) -> None:
    for action in ("Publish", "DeleteTopic"):
        got = resolve(
            OperationRequest(
                method="POST", path="/", service="sns", params={"Action": action, "TopicArn": topic}
            ),
            ARNS,
        )
        assert got.resource == "arn:aws:sns:us-east-1:111122223333:news"


def test_condition_keys_lambda_documents() -> None:
    mapping = resolve(
        OperationRequest(
            method="POST",
            path="/2015-03-31/event-source-mappings",
            params={"FunctionName": "fn", "EventSourceArn": "arn:aws:sqs:us-east-1:1:q"},
        ),
        ARNS,
    )
    assert mapping.context == {"lambda:FunctionArn": FN}
    create = resolve(
        OperationRequest(
            method="POST",
            path="/2015-03-31/functions",
            params={"FunctionName": "fn", "CodeSigningConfigArn": CSC},
        ),
        ARNS,
    )
    assert create.context == {"lambda:CodeSigningConfigArn": CSC}
    permission = resolve(
        OperationRequest(
            method="POST",
            path="/2015-03-31/functions/fn/policy",
            params={"Principal": "*", "FunctionUrlAuthType": "NONE"},
        ),
        ARNS,
    )
    assert permission.context == {"lambda:Principal": "*", "lambda:FunctionUrlAuthType": "NONE"}


def test_unknown_routes_have_no_action() -> None:
    op = resolve(OperationRequest(method="GET", path="/2099-01-01/nothing"), ARNS)
    assert op.action is None and op.name == ""
    wrong_method = resolve(OperationRequest(method="PATCH", path="/2015-03-31/functions/fn"), ARNS)
    assert wrong_method.action is None


def test_a_malformed_function_name_still_gets_a_resource_to_be_denied_on() -> None:
    op = resolve(OperationRequest(method="GET", path="/2015-03-31/functions/bad name!"), ARNS)
    assert op.action == "lambda:GetFunction"
    assert op.resource == "arn:aws:lambda:us-east-1:111122223333:function:bad name!"


def test_only_operations_with_body_keys_need_their_body_parsed() -> None:
    assert needs_body("POST", "/2015-03-31/functions")
    assert needs_body("POST", "/")
    assert needs_body("PUT", "/2020-06-30/functions/fn/code-signing-config")
    assert not needs_body("POST", "/2015-03-31/functions/fn/invocations")
    assert not needs_body("PUT", "/2015-03-31/functions/fn/code")


QUEUE_URL = "http://127.0.0.1:9001/111122223333/jobs"
QUEUE = "arn:aws:sqs:us-east-1:111122223333:jobs"
SQS = [
    ("CreateQueue", {"QueueName": "jobs"}, QUEUE),
    ("GetQueueUrl", {"QueueName": "jobs"}, QUEUE),
    ("GetQueueUrl", {"QueueName": "jobs", "QueueOwnerAWSAccountId": "444455556666"},
     "arn:aws:sqs:us-east-1:444455556666:jobs"),
    # An owner that is no account id names none: the handler answers for the caller's.
    ("GetQueueUrl", {"QueueName": "jobs", "QueueOwnerAWSAccountId": "\u00e9x"}, QUEUE),
    ("GetQueueUrl", {"QueueName": "jobs", "QueueOwnerAWSAccountId": "4444555566667"}, QUEUE),
    ("ListQueues", {}, "*"),
    ("DeleteQueue", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("PurgeQueue", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("GetQueueAttributes", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("SetQueueAttributes", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("SendMessage", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("SendMessageBatch", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("ReceiveMessage", {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/jobs"},
     QUEUE),
    ("DeleteMessage", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("DeleteMessageBatch", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("ChangeMessageVisibility", {"QueueUrl": QUEUE_URL}, QUEUE),
    ("ChangeMessageVisibilityBatch", {"QueueUrl": QUEUE_URL}, QUEUE),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op", "body", "resource"), SQS, ids=[f"{c[0]}-{i}" for i, c in enumerate(SQS)]
)
def test_sqs_operations(op: str, body: dict[str, Any], resource: str) -> None:
    got = resolve(
        OperationRequest(method="POST", path="/", target=f"AmazonSQS.{op}", params=body), ARNS
    )
    assert (got.service, got.name, got.action, got.resource) == ("sqs", op, f"sqs:{op}", resource)


TOPIC = "arn:aws:sns:us-east-1:111122223333:news"
SNS = [
    ("CreateTopic", {"Name": "news"}, TOPIC),
    ("DeleteTopic", {"TopicArn": TOPIC}, TOPIC),
    ("ListTopics", {}, "*"),
    ("GetTopicAttributes", {"TopicArn": TOPIC}, TOPIC),
    ("Subscribe", {"TopicArn": TOPIC, "Protocol": "sqs"}, TOPIC),
    ("Unsubscribe", {"SubscriptionArn": TOPIC + ":0f0e8f1c-3b1b-4f55-a0c4-b7b6dd0b0f3e"}, TOPIC),
    ("ListSubscriptions", {}, "*"),
    ("ListSubscriptionsByTopic", {"TopicArn": TOPIC}, TOPIC),
    ("Publish", {"TopicArn": TOPIC, "Message": "hi"}, TOPIC),
    ("Publish", {"TargetArn": TOPIC, "Message": "hi"}, TOPIC),
    # Junk that is no ARN names no resource (nor, by its colons, another account's).
    ("Publish", {"TopicArn": '{"x": "a:b:c:d:e"}', "Message": "hi"}, "*"),
    ("ListTagsForResource", {"ResourceArn": "news"}, "*"),
]


@pytest.mark.parametrize(
    ("action", "form", "resource"), SNS, ids=[f"{c[0]}-{i}" for i, c in enumerate(SNS)]
)
def test_sns_actions(action: str, form: dict[str, str], resource: str) -> None:
    got = resolve(
        OperationRequest(method="POST", path="/", service="sns", params={"Action": action, **form}),
        ARNS,
    )
    assert (got.service, got.name, got.action, got.resource) == (
        "sns",
        action,
        f"sns:{action}",
        resource,
    )


ME = "arn:aws:iam::111122223333:user/me"
POLICY = "arn:aws:iam::111122223333:policy/ops/read"
IAM = [
    ("CreateUser", {"UserName": "ann"}, "arn:aws:iam::111122223333:user/ann"),
    ("CreateUser", {"UserName": "ann", "Path": "/dev/"}, "arn:aws:iam::111122223333:user/dev/ann"),
    ("GetUser", {"UserName": "ann"}, "arn:aws:iam::111122223333:user/ann"),
    ("GetUser", {}, ME),
    ("DeleteUser", {"UserName": "ann"}, "arn:aws:iam::111122223333:user/ann"),
    ("ListUsers", {}, "*"),
    ("CreateAccessKey", {}, ME),
    ("CreateAccessKey", {"UserName": "ann"}, "arn:aws:iam::111122223333:user/ann"),
    ("ListAccessKeys", {}, ME),
    ("DeleteAccessKey", {"AccessKeyId": "AKIA..."}, ME),
    ("CreateRole", {"RoleName": "r"}, "arn:aws:iam::111122223333:role/r"),
    ("GetRole", {"RoleName": "r"}, "arn:aws:iam::111122223333:role/r"),
    ("DeleteRole", {"RoleName": "r"}, "arn:aws:iam::111122223333:role/r"),
    ("ListRoles", {}, "*"),
    ("PutRolePolicy", {"RoleName": "r", "PolicyName": "p"}, "arn:aws:iam::111122223333:role/r"),
    ("AttachRolePolicy", {"RoleName": "r", "PolicyArn": POLICY},
     "arn:aws:iam::111122223333:role/r"),
    ("PutUserPolicy", {"UserName": "ann", "PolicyName": "p"},
     "arn:aws:iam::111122223333:user/ann"),
    ("CreatePolicy", {"PolicyName": "read", "Path": "/ops/"}, POLICY),
    ("GetPolicy", {"PolicyArn": POLICY}, POLICY),
    ("DeletePolicy", {"PolicyArn": POLICY}, POLICY),
    ("CreatePolicyVersion", {"PolicyArn": POLICY}, POLICY),
    ("ListPolicies", {}, "*"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("action", "form", "resource"), IAM, ids=[f"{c[0]}-{i}" for i, c in enumerate(IAM)]
)
def test_iam_actions(action: str, form: dict[str, str], resource: str) -> None:
    got = resolve(
        OperationRequest(
            method="POST", path="/", service="iam", params={"Action": action, **form}, caller=ME
        ),
        ARNS,
    )
    assert (got.service, got.name, got.action, got.resource) == (
        "iam",
        action,
        f"iam:{action}",
        resource,
    )


def test_sts_operations_are_not_authorized_by_the_gate() -> None:
    for action in ("GetCallerIdentity", "AssumeRole"):
        got = resolve(
            OperationRequest(method="POST", path="/", service="sts", params={"Action": action}),
            ARNS,
        )
        assert (got.service, got.name, got.action) == ("sts", action, None)


def test_an_unsigned_query_request_is_given_its_service_by_its_action() -> None:
    assert operations.query_service("Publish") == "sns"
    assert operations.query_service("GetCallerIdentity") == "sts"
    assert operations.query_service("CreateRole") == "iam"


def test_every_route_nimbus_serves_is_in_the_table() -> None:
    """A route added without an entry here would be authenticated only: every Starlette route
    of every route table must resolve to an operation with an action."""
    from nimbus.frontend import app
    from nimbus.frontend.root_api import RootApi

    tables = [
        cls.__new__(cls)  # the tables only keep their services: routes() needs none
        for cls in typing.get_type_hints(app.Apis).values()
        if cls is not RootApi
    ]
    samples = {
        "name": "fn",
        "alias": "prod",
        "arn": FN,
        "layer": "lib",
        "version": "1",
        "sid": "s1",
        "key": "a" * 64,
        "uuid": UUID,
        "api": "a1b2c3d4e5",
        "integration": "int0001",
        "route": "rte0001",
        "stage": "$default",
    }
    for table in tables:
        for route in table.routes():
            assert isinstance(route, Route)
            path = route.path.replace(":path}", "}").format(**samples)
            for method in route.methods or ():  # HEAD too: Starlette adds it to every GET
                got = resolve(OperationRequest(method=method, path=path), ARNS)
                assert got.action, f"{method} {route.path} has no operation"


def test_only_the_code_uploads_may_be_larger_than_6_mb() -> None:
    six_mb = 6 * 1024 * 1024
    assert body_bound("POST", "/2015-03-31/functions") == (69_905_067, "CreateFunction")
    assert body_bound("PUT", "/2015-03-31/functions/f/code") == (69_905_067, "UpdateFunctionCode")
    assert body_bound("POST", "/2018-10-31/layers/l/versions")[0] == 69_905_067
    assert body_bound("POST", "/2015-03-31/functions/f/invocations") == (six_mb, "Invoke")
    assert body_bound("PUT", "/2017-10-31/functions/f/concurrency")[0] == six_mb
    assert body_bound("POST", "/") == (six_mb, "")
