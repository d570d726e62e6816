"""AWS managed policies that SAM templates, CloudFormation and Lambda guides attach, with the
documents AWS publishes for them (AWS Managed Policy reference,
docs.aws.amazon.com/aws-managed-policy/latest/reference/). They live in code, not in the
store: every account sees them, nobody can change or delete them, and attaching one is an
ordinary row in ``iam_attachments``."""

from __future__ import annotations

import base64
import calendar
import hashlib
import time

import orjson

from nimbus.model.iam import ManagedPolicy, PolicyVersion

_PREFIX = "arn:aws:iam::aws:policy/"


def _allow(actions: list[str], resource: str | list[str]) -> dict[str, object]:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


# (path, name, description, creation time, statements)
_CATALOG: tuple[tuple[str, str, str, str, list[dict[str, object]]], ...] = (
    (
        "/",
        "AdministratorAccess",
        "Provides full access to AWS services and resources.",
        "2015-02-06T18:39:46Z",
        [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    ),
    (
        "/service-role/",
        "AWSLambdaBasicExecutionRole",
        "Provides write permissions to CloudWatch Logs.",
        "2015-04-09T15:03:43Z",
        [_allow(["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "*")],
    ),
    (
        "/service-role/",
        "AWSLambdaSQSQueueExecutionRole",
        "Provides receive message, delete message, and read attribute access to SQS queues, "
        "and write permissions to CloudWatch logs.",
        "2016-06-14T21:08:04Z",
        [
            _allow(
                [
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:GetQueueAttributes",
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                ],
                "*",
            )
        ],
    ),
    (
        "/",
        "AWSLambdaExecute",
        "Provides Put, Get access to S3 and full access to CloudWatch Logs.",
        "2015-02-06T18:40:46Z",
        [
            _allow(["logs:*"], "arn:aws:logs:*:*:*"),
            _allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::*"),
        ],
    ),
    (
        "/service-role/",
        "AWSLambdaRole",
        "Default policy for AWS Lambda service role.",
        "2015-02-06T18:41:28Z",
        [_allow(["lambda:InvokeFunction"], ["*"])],
    ),
)


def _policy_id(arn: str) -> str:
    # Stable across nodes and restarts (AWS's own ids are fixed too).
    digest = base64.b32encode(hashlib.sha256(arn.encode()).digest()).decode()
    return "ANPA" + digest[:17]


def _build() -> dict[str, tuple[ManagedPolicy, PolicyVersion]]:
    built = {}
    for path, name, description, created, statements in _CATALOG:
        arn = f"{_PREFIX}{path.lstrip('/')}{name}"
        at = float(calendar.timegm(time.strptime(created, "%Y-%m-%dT%H:%M:%SZ")))
        document = orjson.dumps({"Version": "2012-10-17", "Statement": statements}).decode()
        policy = ManagedPolicy(
            arn=arn,
            name=name,
            policy_id=_policy_id(arn),
            path=path,
            description=description,
            default_version="v1",
            next_version=2,
            tags=(),
            created_at=at,
            updated_at=at,
        )
        built[arn] = (
            policy,
            PolicyVersion(arn=arn, version_id="v1", document=document, created_at=at),
        )
    return built


AWS_MANAGED: dict[str, tuple[ManagedPolicy, PolicyVersion]] = _build()


def is_aws_managed(arn: str) -> bool:
    return arn.startswith(_PREFIX)
