"""``POST /``'s operations (pure): which IAM action on which resource each SQS (JSON
protocol), SNS, IAM and STS (query protocol) request asks for, for the gate (``auth_gate``,
through ``operations``).

``POST /`` carries SQS (``X-Amz-Target: AmazonSQS.<Op>``, JSON body), EventBridge
(``AWSEvents.<Op>``, JSON 1.1: ``eventbridge_actions``), SNS, IAM and STS (query
form, ``Action``): ``sqs:<Op>`` on the queue's ARN (from ``QueueUrl`` or ``QueueName``),
``sns:<Action>`` on the topic's, ``iam:<Action>`` on the user's, role's or policy's. STS's
``GetCallerIdentity`` needs no permission (AWS: "No permissions are required to perform this
operation"), and ``AssumeRole`` is decided by STS itself (the role's trust policy), so neither
has an action here (the gate lets exactly these two through without one:
``auth_gate.SELF_AUTHORIZED``). A TopicArn is authorized as the topic ``queues.topics`` acts
on — this account's, named by the ARN's sixth field whatever its other fields say — so a Deny
on a topic is not passed by another partition, region or account in its ARN.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from nimbus.frontend.eventbridge_actions import events_operation
from nimbus.frontend.operation import ANY, Operation, OperationRequest
from nimbus.model.arn import Arns

# STS's operations: none is authorized by the gate (see the module's docstring).
STS_ACTIONS: Final = frozenset(
    {"GetCallerIdentity", "AssumeRole", "GetSessionToken", "AssumeRoleWithWebIdentity"}
)
SNS_ACTIONS: Final = frozenset(
    {
        "CreateTopic",
        "DeleteTopic",
        "ListTopics",
        "GetTopicAttributes",
        "SetTopicAttributes",
        "Subscribe",
        "Unsubscribe",
        "ListSubscriptions",
        "ListSubscriptionsByTopic",
        "Publish",
        "PublishBatch",
        "GetSubscriptionAttributes",
        "SetSubscriptionAttributes",
        "ConfirmSubscription",
        "TagResource",
        "UntagResource",
        "ListTagsForResource",
    }
)


def query_service(action: str) -> str:
    """The service a query-protocol ``Action`` belongs to, for a request whose signature does
    not say (auth off): STS's and SNS's actions by name, IAM's otherwise."""
    if action in STS_ACTIONS:
        return "sts"
    if action in SNS_ACTIONS:
        return "sns"
    return "iam"


def resolve_root(request: OperationRequest, arns: Arns) -> Operation:
    """The operation a ``POST /`` asks for: SQS's by its X-Amz-Target, else the query
    protocol's Action, in the signed service (SNS, IAM, STS) or the one that has it."""
    if request.target.startswith("AmazonSQS."):
        return _sqs(request.target.split(".", 1)[1], request.params, arns)
    if request.target.startswith("AWSEvents."):
        return events_operation(request.target.split(".", 1)[1], request.params, arns)
    action = str(request.params.get("Action", ""))
    service = request.service if request.service in ("sns", "iam", "sts") else ""
    service = service or query_service(action)
    if not action:
        return Operation(service=service, name="", action=None)
    if service == "sts":
        return Operation(service="sts", name=action, action=None)
    if service == "sns":
        return _sns(action, request.params, arns)
    return _iam(action, request.params, request.caller, arns)


def _text(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    return value if isinstance(value, str) else ""


_SQS_ANY: Final = frozenset({"ListQueues"})


def _sqs(op: str, params: Mapping[str, Any], arns: Arns) -> Operation:
    resource = ANY
    url = _text(params, "QueueUrl")
    if op not in _SQS_ANY:
        if url:
            # https://sqs.<region>.amazonaws.com/<account>/<name>, or Nimbus's own URL.
            parts = url.rstrip("/").split("/")
            account = parts[-2] if len(parts) >= 2 and parts[-2].isdigit() else arns.account
            resource = f"arn:aws:sqs:{arns.region}:{account}:{parts[-1]}"
        elif _text(params, "QueueName"):
            # Another account only when it is one (12 digits): junk names no account, and
            # the handler answers it for the caller's own (what is authorized here).
            owner = _text(params, "QueueOwnerAWSAccountId")
            account = (
                owner if len(owner) == 12 and owner.isascii() and owner.isdigit() else arns.account
            )
            resource = f"arn:aws:sqs:{arns.region}:{account}:{_text(params, 'QueueName')}"
    return Operation(service="sqs", name=op, action=f"sqs:{op}", resource=resource)


_SNS_ANY: Final = frozenset({"ListTopics", "ListSubscriptions"})


def _topic_arn(text: str, arns: Arns) -> str:
    """The topic ``queues.topics`` acts on for a TopicArn: this account's topic named by its
    sixth field, whatever the other five say (``DeleteTopic`` reads only that field), so it
    is authorized on that topic's ARN; anything else, or a name no topic can have (only
    alphanumerics, hyphens and underscores: ``TopicService.create_topic``), names no topic
    (``*``: refused, or nothing done)."""
    parts = text.split(":")
    if len(parts) != 6 or not parts[5] or not all(c.isalnum() or c in "-_" for c in parts[5]):
        return ANY
    return f"arn:aws:sns:{arns.region}:{arns.account}:{parts[5]}"


def _sns(action: str, form: Mapping[str, Any], arns: Arns) -> Operation:
    resource = ANY
    if action == "CreateTopic" and _text(form, "Name"):
        resource = f"arn:aws:sns:{arns.region}:{arns.account}:{_text(form, 'Name')}"
    elif action in ("Unsubscribe", "GetSubscriptionAttributes", "SetSubscriptionAttributes"):
        # A subscription's ARN is its topic's with a uuid: SNS authorizes on the topic.
        subscription = _text(form, "SubscriptionArn")
        if subscription.count(":") >= 6:
            resource = _topic_arn(subscription.rsplit(":", 1)[0], arns)
    elif action not in _SNS_ANY:
        resource = _topic_arn(
            _text(form, "TopicArn") or _text(form, "TargetArn") or _text(form, "ResourceArn"),
            arns,
        )
    return Operation(service="sns", name=action, action=f"sns:{action}", resource=resource)


_IAM_ANY: Final = frozenset(
    {
        "ListUsers",
        "ListRoles",
        "ListPolicies",
        "GetAccountSummary",
        "GetAccountAuthorizationDetails",
    }
)


def _iam(action: str, form: Mapping[str, Any], caller: str, arns: Arns) -> Operation:
    """IAM's resources: a user, role or managed policy (IAM is global: no region). A user's or
    role's path is not in the request, so ARNs are built with the default path "/"."""
    account = arns.account
    resource = ANY
    policy_arn = _text(form, "PolicyArn")
    role = _text(form, "RoleName")
    user = _text(form, "UserName")
    if action in _IAM_ANY:
        resource = ANY
    elif action == "CreatePolicy":
        path = _text(form, "Path") or "/"
        resource = f"arn:aws:iam::{account}:policy{path}{_text(form, 'PolicyName')}"
    elif (policy_arn and not (role or user)) or action in ("GetPolicy", "DeletePolicy"):
        resource = policy_arn or ANY
    elif role:
        path = _text(form, "Path") if action == "CreateRole" else ""
        resource = f"arn:aws:iam::{account}:role{path or '/'}{role}"
    elif user:
        path = _text(form, "Path") if action == "CreateUser" else ""
        resource = f"arn:aws:iam::{account}:user{path or '/'}{user}"
    elif "AccessKey" in action or action.endswith("UserPolicy") or action == "GetUser":
        # Without UserName, IAM acts on the calling user (CreateAccessKey, ListAccessKeys...).
        resource = caller or ANY
    return Operation(service="iam", name=action, action=f"iam:{action}", resource=resource)
