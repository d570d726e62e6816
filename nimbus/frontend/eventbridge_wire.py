"""EventBridge's JSON 1.1 wire (pure): request members read and checked against botocore's
``events`` model, and values rendered in its shapes.

A member of the wrong JSON type is a SerializationException; a member that breaks the
model's constraints (required, length, pattern, enum, range) is a ValidationException worded
as AWS words them — "1 validation error detected: Value 'x' at 'name' failed to satisfy
constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+" — every
broken constraint of a request listed, each at its member's wire path (``targets.1.member.id``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeVar

from nimbus.errors import EventsValidationError, SerializationError
from nimbus.frontend import next_token
from nimbus.model.eventbridge import (
    DEFAULT_BUS,
    EventBus,
    InputTransformer,
    RetryPolicy,
    Rule,
    Target,
    TargetFailure,
    bus_name_of,
)

RULE_NAME: Final = r"[\.\-_A-Za-z0-9]+"
BUS_NAME: Final = r"[/\.\-_A-Za-z0-9]+"
_BUS_ARN: Final = r"(arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:[0-9]{12}:event-bus\/)?"
BUS_NAME_OR_ARN: Final = _BUS_ARN + BUS_NAME
NON_PARTNER_BUS: Final = _BUS_ARN + r"[\.\-_A-Za-z0-9]+"
MAX_PAGE: Final = 100

T = TypeVar("T")


class Members:
    """One structure's members, read with the model's constraints; ``done()`` raises every
    broken constraint at once (AWS lists them all)."""

    def __init__(
        self, params: Mapping[str, Any], prefix: str = "", errors: list[str] | None = None
    ) -> None:
        self._params = params
        self._prefix = prefix
        self.errors: list[str] = [] if errors is None else errors

    def path(self, key: str) -> str:
        return f"{self._prefix}{key[:1].lower()}{key[1:]}"

    def _broken(self, value: object, key: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{value}'"
        self.errors.append(
            f"Value {shown} at '{self.path(key)}' failed to satisfy constraint: "
            f"Member must {constraint}"
        )

    def raw(self, key: str) -> Any:
        return self._params.get(key)

    def string(
        self,
        key: str,
        *,
        required: bool = False,
        min_len: int | None = None,
        max_len: int | None = None,
        pattern: str | None = None,
        enum: Sequence[str] | None = None,
    ) -> str | None:
        value = self._params.get(key)
        if value is None:
            if required:
                self._broken(None, key, "not be null")
            return None
        if not isinstance(value, str):
            raise SerializationError(f"{self.path(key)} must be a string, not {_kind(value)}.")
        if pattern is not None and re.fullmatch(pattern, value) is None:
            self._broken(value, key, f"satisfy regular expression pattern: {pattern}")
        if max_len is not None and len(value) > max_len:
            self._broken(value, key, f"have length less than or equal to {max_len}")
        if min_len is not None and len(value) < min_len:
            self._broken(value, key, f"have length greater than or equal to {min_len}")
        if enum is not None and value not in enum:
            self._broken(value, key, f"satisfy enum value set: [{', '.join(enum)}]")
        return value

    def integer(self, key: str, *, low: int, high: int) -> int | None:
        value = self._params.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            raise SerializationError(f"{self.path(key)} must be an integer, not {_kind(value)}.")
        number = int(value)
        if number < low:
            self._broken(number, key, f"have value greater than or equal to {low}")
        elif number > high:
            self._broken(number, key, f"have value less than or equal to {high}")
        return number

    def boolean(self, key: str) -> bool:
        value = self._params.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            raise SerializationError(f"{self.path(key)} must be true or false.")
        return value

    def structure(self, key: str) -> Members | None:
        value = self._params.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise SerializationError(f"{self.path(key)} must be an object, not {_kind(value)}.")
        return Members(value, f"{self.path(key)}.", self.errors)

    def items(
        self, key: str, *, required: bool = False, min_len: int = 0, max_len: int | None = None
    ) -> list[Any]:
        value = self._params.get(key)
        if value is None:
            if required:
                self._broken(None, key, "not be null")
            return []
        if not isinstance(value, list):
            raise SerializationError(f"{self.path(key)} must be a list, not {_kind(value)}.")
        if max_len is not None and len(value) > max_len:
            self._broken("[...]", key, f"have length less than or equal to {max_len}")
        if len(value) < min_len:
            self._broken("[]", key, f"have length greater than or equal to {min_len}")
        return value

    def element(self, key: str, index: int, value: Any) -> Members:
        """The ``index``-th (0-based) structure of list ``key``, at ``key.<n>.member.``."""
        if not isinstance(value, dict):
            raise SerializationError(f"Each of {self.path(key)} must be an object.")
        return Members(value, f"{self.path(key)}.{index + 1}.member.", self.errors)

    def done(self) -> None:
        if self.errors:
            count = len(self.errors)
            noun = "error" if count == 1 else "errors"
            raise EventsValidationError(
                f"{count} validation {noun} detected: {'; '.join(self.errors)}"
            )


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string" if isinstance(value, str) else "null"


def bus_member(
    members: Members, key: str = "EventBusName", *, pattern: str = BUS_NAME_OR_ARN
) -> str:
    """The bus a name-or-ARN member names (the default bus when absent)."""
    value = members.string(key, min_len=1, max_len=1600, pattern=pattern)
    return DEFAULT_BUS if value is None else bus_name_of(value)


def rule_name(members: Members, key: str = "Name") -> str:
    value = members.string(key, required=True, min_len=1, max_len=64, pattern=RULE_NAME)
    return value or ""


# --- targets ---------------------------------------------------------------------------------


def targets_member(members: Members) -> list[Target]:
    """PutTargets' ``Targets``, each checked against the model."""
    targets = []
    for index, raw in enumerate(members.items("Targets", required=True, min_len=1, max_len=100)):
        targets.append(_target(members.element("Targets", index, raw)))
    return targets


def _target(m: Members) -> Target:
    target_id = m.string("Id", required=True, min_len=1, max_len=64, pattern=RULE_NAME) or ""
    arn = m.string("Arn", required=True, min_len=1, max_len=1600) or ""
    transformer = None
    if (t := m.structure("InputTransformer")) is not None:
        template = t.string("InputTemplate", required=True, min_len=1, max_len=8192) or ""
        paths = t.raw("InputPathsMap") or {}
        if not isinstance(paths, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in paths.items()
        ):
            raise SerializationError(
                "inputTransformer.inputPathsMap must map placeholder names to JSON paths (strings)."
            )
        if len(paths) > 100:
            t.errors.append(
                f"Value at '{t.path('InputPathsMap')}' failed to satisfy constraint: Member "
                "must have length less than or equal to 100"
            )
        for key, path in paths.items():
            if len(path) > 256:
                t.errors.append(
                    f"Value '{path}' at '{t.path('InputPathsMap')}.{key}' failed to satisfy "
                    "constraint: Member must have length less than or equal to 256"
                )
        transformer = InputTransformer(template=template, paths=dict(paths))
    retry = None
    if (r := m.structure("RetryPolicy")) is not None:
        retry = RetryPolicy(
            maximum_retry_attempts=r.integer("MaximumRetryAttempts", low=0, high=185),
            maximum_event_age_s=r.integer("MaximumEventAgeInSeconds", low=60, high=86400),
        )
    dead_letter = None
    if (d := m.structure("DeadLetterConfig")) is not None:
        dead_letter = d.string("Arn", min_len=1, max_len=1600)
    return Target(
        id=target_id,
        arn=arn,
        role_arn=m.string("RoleArn", min_len=1, max_len=1600),
        input=m.string("Input", max_len=8192),
        input_path=m.string("InputPath", max_len=256),
        input_transformer=transformer,
        retry_policy=retry,
        dead_letter_arn=dead_letter,
    )


def target_json(target: Target) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": target.id, "Arn": target.arn}
    if target.role_arn is not None:
        out["RoleArn"] = target.role_arn
    if target.input is not None:
        out["Input"] = target.input
    if target.input_path is not None:
        out["InputPath"] = target.input_path
    if target.input_transformer is not None:
        transformer: dict[str, Any] = {"InputTemplate": target.input_transformer.template}
        if target.input_transformer.paths:
            transformer["InputPathsMap"] = dict(target.input_transformer.paths)
        out["InputTransformer"] = transformer
    if target.retry_policy is not None:
        retry: dict[str, int] = {}
        if target.retry_policy.maximum_retry_attempts is not None:
            retry["MaximumRetryAttempts"] = target.retry_policy.maximum_retry_attempts
        if target.retry_policy.maximum_event_age_s is not None:
            retry["MaximumEventAgeInSeconds"] = target.retry_policy.maximum_event_age_s
        out["RetryPolicy"] = retry
    if target.dead_letter_arn is not None:
        out["DeadLetterConfig"] = {"Arn": target.dead_letter_arn}
    return out


def failures_json(failures: Sequence[TargetFailure]) -> dict[str, Any]:
    return {
        "FailedEntryCount": len(failures),
        "FailedEntries": [
            {"TargetId": f.target_id, "ErrorCode": f.code, "ErrorMessage": f.message}
            for f in failures
        ],
    }


# --- rules and buses ---------------------------------------------------------------------


def rule_json(rule: Rule, arn: str, *, account: str | None = None) -> dict[str, Any]:
    """A rule as ListRules lists it; with ``account`` (DescribeRule), its CreatedBy too."""
    out: dict[str, Any] = {"Name": rule.name, "Arn": arn}
    if rule.event_pattern is not None:
        out["EventPattern"] = rule.event_pattern
    if rule.schedule_expression is not None:
        out["ScheduleExpression"] = rule.schedule_expression
    out["State"] = rule.state
    if rule.description is not None:
        out["Description"] = rule.description
    if rule.role_arn is not None:
        out["RoleArn"] = rule.role_arn
    out["EventBusName"] = rule.bus
    if account is not None:
        out["CreatedBy"] = account
    return out


def bus_json(bus: EventBus, arn: str) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": bus.name, "Arn": arn}
    if bus.description is not None:
        out["Description"] = bus.description
    out["CreationTime"] = bus.created_at
    out["LastModifiedTime"] = bus.modified_at
    return out


# --- paging ------------------------------------------------------------------------------


def page(items: Sequence[T], keys: Sequence[str], members: Members) -> tuple[list[T], str | None]:
    """One page of ``items`` (sorted by their ``keys``) after the request's NextToken, at most
    its Limit (100 by default); the token of the next page when more follow."""
    token = members.string("NextToken", min_len=1, max_len=2048)
    limit = members.integer("Limit", low=1, high=MAX_PAGE) or MAX_PAGE
    members.done()
    try:
        chosen, following = next_token.page(keys, token, limit)
    except next_token.InvalidToken:
        raise EventsValidationError(
            "The NextToken is not valid: pass the NextToken of the previous page as is."
        ) from None
    return list(items[chosen]), following
