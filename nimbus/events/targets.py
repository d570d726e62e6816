"""PutTargets' rules (pure): which targets a request may put, and why not.

Two kinds of fault, as AWS has them:

- A malformed target fails the whole request with ValidationException, in AWS's words where
  LocalStack's AWS-validated snapshots have them: an ARN that is not one ("Parameter <arn>
  is not valid. Reason: Provided Arn is not in correct format."), more than one of Input,
  InputPath and InputTransformer ("Only one of Input, InputPath, or InputTransformer must be
  provided for target <id>."), a template placeholder its InputPathsMap does not define
  ("InputTemplate for target <id> contains invalid placeholder <name>."); and the same for
  what Nimbus checks beyond them (Input that is not JSON, a JSON path outside the subset
  ``json_path`` reads, a dead-letter queue that is not an SQS queue).
- A well-formed target Nimbus cannot deliver to is that target's failure (PutTargets'
  ``FailedEntries``), the others are put: Nimbus delivers to its own functions, queues and
  topics, in its partition (``aws``, its only one: delivery finds a queue or topic by name,
  so ``arn:aws-cn:sqs:...:q`` would reach ``arn:aws:sqs:...:q`` while the gate authorized
  another ARN), region and account; its dead-letter queue is one of them too. Whether the
  function, queue or topic exists is not checked, as on AWS: a delivery to one that does not
  fails then (``NO_RESOURCE``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

import orjson

from nimbus.errors import EventsValidationError
from nimbus.events.input_transform import PREDEFINED, placeholders
from nimbus.events.json_path import InvalidJsonPath, parse_path
from nimbus.model.eventbridge import Target, TargetFailure

_ARN: Final = re.compile(r"^arn:(aws[a-z-]*):([a-z0-9-]+):([a-z0-9-]*):([0-9]{12}|):(.+)$")
PARTITION: Final = "aws"
_LAMBDA: Final = re.compile(r"^function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$")
_QUEUE_OR_TOPIC: Final = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
# AWS: "InputPathsMap ... keys ... can't start with 'AWS.'" (they are its own).
_PATH_KEY: Final = re.compile(r"^[A-Za-z0-9_.-]+$")
SUPPORTED: Final = (
    "a Lambda function (arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]), an SQS "
    "queue (arn:aws:sqs:REGION:ACCOUNT:NAME) or an SNS topic (arn:aws:sns:REGION:ACCOUNT:NAME)"
)


def _bad_arn(arn: str) -> EventsValidationError:
    return EventsValidationError(
        f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format."
    )


def check_format(target: Target) -> None:
    """Raises EventsValidationError if ``target`` is malformed (the whole request fails)."""
    if _ARN.match(target.arn) is None:
        raise _bad_arn(target.arn)
    given = [
        x for x in (target.input, target.input_path, target.input_transformer) if x is not None
    ]
    if len(given) > 1:
        raise EventsValidationError(
            "Only one of Input, InputPath, or InputTransformer must be provided for target "
            f"{target.id}."
        )
    if target.input is not None:
        try:
            orjson.loads(target.input)
        except orjson.JSONDecodeError as err:
            raise EventsValidationError(
                f"Input for target {target.id} is not valid JSON ({err}): Input is the JSON "
                "text sent to the target instead of the event."
            ) from None
    if target.input_path is not None:
        _check_path(target.id, "InputPath", target.input_path)
    transformer = target.input_transformer
    if transformer is not None:
        for key, path in transformer.paths.items():
            if _PATH_KEY.match(key) is None or key.upper().startswith("AWS."):
                raise EventsValidationError(
                    f"InputPathsMap for target {target.id} has an invalid key {key!r}: keys are "
                    "letters, digits, '.', '-' and '_', and may not start with 'AWS.'."
                )
            _check_path(target.id, f"InputPathsMap[{key}]", path)
        for name in placeholders(transformer.template):
            if name not in transformer.paths and name not in PREDEFINED:
                raise EventsValidationError(
                    f"InputTemplate for target {target.id} contains invalid placeholder {name}."
                )
    if target.dead_letter_arn is not None:
        match = _ARN.match(target.dead_letter_arn)
        if match is None or match.group(2) != "sqs":
            raise EventsValidationError(
                f"Parameter DeadLetterConfig.Arn is not valid for target {target.id}. Reason: "
                "it must be an SQS queue's ARN (arn:aws:sqs:REGION:ACCOUNT:NAME)."
            )


def _check_path(target_id: str, what: str, path: str) -> None:
    try:
        parse_path(path)
    except InvalidJsonPath as err:
        raise EventsValidationError(f"{what} for target {target_id} is not valid: {err}.") from None


def unsupported(target: Target, *, region: str, account: str) -> TargetFailure | None:
    """Why Nimbus cannot deliver to a well-formed target, or None when it can."""
    match = _ARN.match(target.arn)
    assert match is not None  # check_format passed
    arn_partition, service, target_region, target_account, resource = match.groups()
    where = (arn_partition, target_region, target_account) == (PARTITION, region, account)
    kind_ok = (service == "lambda" and _LAMBDA.match(resource) is not None) or (
        service in ("sqs", "sns") and _QUEUE_OR_TOPIC.match(resource) is not None
    )
    if kind_ok and where:
        if target.dead_letter_arn is None or _in(target.dead_letter_arn, region, account):
            return None
        return TargetFailure(
            target_id=target.id,
            code="ValidationException",
            message=f"Target {target.id}: the dead-letter queue {target.dead_letter_arn} is "
            f"not in this endpoint's partition, region and account ({PARTITION}, {region}, "
            f"{account}).",
        )
    reason = (
        f"this endpoint serves partition {PARTITION}, region {region} and account {account}"
        if kind_ok
        else f"Nimbus delivers to {SUPPORTED}"
    )
    return TargetFailure(
        target_id=target.id,
        code="ValidationException",
        message=f"Target {target.id} ({target.arn}) is not supported: {reason}.",
    )


def _in(arn: str, region: str, account: str) -> bool:
    parts = arn.split(":")
    return len(parts) == 6 and (parts[1], parts[3], parts[4]) == (PARTITION, region, account)


def partition(
    targets: Sequence[Target], *, region: str, account: str
) -> tuple[list[Target], list[TargetFailure]]:
    """The targets to put and the failures of the rest; raises EventsValidationError when
    any target is malformed (nothing is put)."""
    for target in targets:
        check_format(target)
    accepted: list[Target] = []
    failed: list[TargetFailure] = []
    for target in targets:
        failure = unsupported(target, region=region, account=account)
        if failure is None:
            accepted.append(target)
        else:
            failed.append(failure)
    return accepted, failed
