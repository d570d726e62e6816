"""The permissions an operation needs beyond its own action (pure): what the caller makes
Nimbus do later on its behalf.

AWS authorizes these with more than the operation's action:

- ``iam:PassRole`` on the execution role, for ``CreateFunction`` and an
  ``UpdateFunctionConfiguration`` that sets ``Role`` ("Granting a user permissions to pass a
  role to an AWS service", IAM user guide; condition key ``iam:PassedToService`` is
  ``lambda.amazonaws.com``): otherwise anyone allowed to create a function could run code as
  any role of the account. The same on a schedule's ``Target.RoleArn`` for Scheduler's
  ``CreateSchedule``/``UpdateSchedule`` (``scheduler.amazonaws.com``), and — since Nimbus
  delivers a schedule's ticks as itself, not as that role — the actions the role would need
  (``lambda:InvokeFunction``, ``sqs:SendMessage``, ``sns:Publish`` on the target and the
  dead-letter queue) are asked of the caller.
- The targets a function's events will reach — a dead-letter queue or topic, the
  ``OnSuccess``/``OnFailure`` destinations of ``Put``/``UpdateFunctionEventInvokeConfig``,
  the queues and topics of EventBridge targets (``eventbridge_actions``) —
  and the queue an event source mapping reads: AWS checks that the *execution role* may send
  there (``sqs:SendMessage``, ``sns:Publish``, ``lambda:InvokeFunction``) or read from there
  (``sqs:ReceiveMessage``) and refuses the configuration otherwise. SNS delivers to a Lambda
  or SQS subscriber only when the function's or queue's policy allows the topic.

Nimbus asks the same of the *caller* instead, at the moment the configuration is written:
nobody can make Nimbus deliver to, read from, or invoke what they could not themselves —
which closes the confused-deputy paths (draining another team's queue through a mapping,
invoking another function through a topic subscription) without requiring every role and
queue policy AWS would. Values that are not strings are left to the handler's validation.

Every ARN is checked as ``canonical_arn`` spells it, in partition ``aws``: Nimbus has only
that one, and finds a queue, topic or function by its name and region, so
``arn:aws-cn:sqs:...:q`` reaches ``arn:aws:sqs:...:q`` — a Deny on the one must not be passed
by spelling the other (the handlers refuse other partitions too).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from nimbus.frontend.eventbridge_actions import implied as events_implied
from nimbus.frontend.operation import Operation

LAMBDA_SERVICE: Final = "lambda.amazonaws.com"
SCHEDULER_SERVICE: Final = "scheduler.amazonaws.com"

# The Lambda operations whose implied checks read the JSON body (the gate parses it).
BODY_OPERATIONS: Final = frozenset(
    {
        "CreateFunction",
        "UpdateFunctionConfiguration",
        "CreateEventSourceMapping",
        "PutFunctionEventInvokeConfig",
        "UpdateFunctionEventInvokeConfig",
    }
)


@dataclass(frozen=True, kw_only=True)
class Check:
    """One more action the caller must be allowed on one more resource."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _get(params: Mapping[str, Any], *keys: str) -> object:
    value: object = params
    for key in keys:
        if not isinstance(value, Mapping):
            return None
        value = value.get(key)
    return value


def canonical_arn(arn: str) -> str:
    """``arn`` in partition ``aws`` (see the module's docstring); anything not an ARN as is."""
    parts = arn.split(":", 2)
    if len(parts) == 3 and parts[0] == "arn" and parts[1] != "aws":
        return f"arn:aws:{parts[2]}"
    return arn


def _pass_role(role: object, service: str) -> list[Check]:
    arn = _text(role)
    if arn is None:
        return []
    return [
        Check(
            action="iam:PassRole",
            resource=canonical_arn(arn),
            context={"iam:PassedToService": service},
        )
    ]


def delivery_action(target_arn: str) -> str | None:
    """The action that sending an event to ``target_arn`` takes, by the ARN's service."""
    parts = target_arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        return None
    return {
        "sqs": "sqs:SendMessage",
        "sns": "sns:Publish",
        "lambda": "lambda:InvokeFunction",
        "events": "events:PutEvents",
    }.get(parts[2])


def _deliveries(*targets: object) -> list[Check]:
    checks = []
    for target in targets:
        arn = _text(target)
        action = delivery_action(arn) if arn is not None else None
        if arn is not None and action is not None:
            checks.append(Check(action=action, resource=canonical_arn(arn)))
    return checks


def implied_checks(operation: Operation, params: Mapping[str, Any]) -> tuple[Check, ...]:
    """What else ``operation`` (resolved by ``operations.resolve``) with ``params`` (its JSON
    body, or a query form) needs the caller to be allowed."""
    checks: list[Check] = []
    match (operation.service, operation.name):
        case ("lambda", "CreateFunction" | "UpdateFunctionConfiguration"):
            checks += _pass_role(params.get("Role"), LAMBDA_SERVICE)
            checks += _deliveries(_get(params, "DeadLetterConfig", "TargetArn"))
        case ("lambda", "PutFunctionEventInvokeConfig" | "UpdateFunctionEventInvokeConfig"):
            checks += _deliveries(
                _get(params, "DestinationConfig", "OnSuccess", "Destination"),
                _get(params, "DestinationConfig", "OnFailure", "Destination"),
            )
        case ("lambda", "CreateEventSourceMapping"):
            source = _text(params.get("EventSourceArn"))
            if source is not None and source.startswith("arn:") and ":sqs:" in source:
                checks.append(Check(action="sqs:ReceiveMessage", resource=source))
        case ("events", "PutTargets" | "PutEvents"):
            checks += [
                Check(action=a, resource=canonical_arn(r))
                for a, r in events_implied(operation, params)
            ]
        case ("scheduler", "CreateSchedule" | "UpdateSchedule"):
            checks += _pass_role(_get(params, "Target", "RoleArn"), SCHEDULER_SERVICE)
            checks += _deliveries(
                _get(params, "Target", "Arn"), _get(params, "Target", "DeadLetterConfig", "Arn")
            )
        case ("sns", "Subscribe"):
            protocol = _text(params.get("Protocol"))
            endpoint = _text(params.get("Endpoint"))
            if endpoint is not None and protocol in ("lambda", "sqs"):
                checks += _deliveries(endpoint)
    return tuple(checks)
