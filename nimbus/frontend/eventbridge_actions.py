"""EventBridge's operations as IAM authorizes them (pure): ``events:<Op>`` on the rule's or
event bus's ARN ("Actions, resources, and condition keys for Amazon EventBridge"):

- rules (``PutRule``, ``DescribeRule``, ``EnableRule``, ``DisableRule``, ``DeleteRule``, and
  the target operations by their ``Rule``): ``arn:aws:events:<region>:<account>:rule/<name>``
  on the default bus, ``rule/<bus>/<name>`` on another;
- buses (``CreateEventBus``, ``DescribeEventBus``, ``DeleteEventBus``, and ``PutEvents`` on
  the bus of its first entry; each other bus its entries name is an implied check):
  ``arn:aws:events:<region>:<account>:event-bus/<name>``;
- ``ListRules`` and ``ListEventBuses``: ``*``.

A bus named by ARN is authorized as the bus EventBridge acts on — this account's, named by
the ARN's last part — and a name no rule or bus can have names none (``*``), so a Deny on a
rule is not passed by spelling it otherwise. "A name no rule or bus can have" is decided by
the wire's own patterns (``eventbridge_wire.RULE_NAME``, ``BUS_NAME``): whatever name the
handler accepts, the gate has authorized on that name's ARN, never on ``*``.

What a target makes Nimbus do later is the caller's to allow too (``implied_access``):
sending to a queue (``sqs:SendMessage``) or publishing to a topic (``sns:Publish``), for a
target or a dead-letter queue. A Lambda target needs no such check: EventBridge invokes it
only if the function's resource-based policy allows ``events.amazonaws.com`` (checked at
delivery, ``events.delivery``), as on AWS.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from nimbus.frontend.eventbridge_wire import BUS_NAME, RULE_NAME
from nimbus.frontend.operation import ANY, Operation
from nimbus.model.arn import Arns
from nimbus.model.eventbridge import DEFAULT_BUS, bus_arn, bus_name_of, rule_arn

EVENTS_OPERATIONS: Final = frozenset(
    {
        "PutRule",
        "DescribeRule",
        "ListRules",
        "EnableRule",
        "DisableRule",
        "DeleteRule",
        "PutTargets",
        "RemoveTargets",
        "ListTargetsByRule",
        "CreateEventBus",
        "DescribeEventBus",
        "DeleteEventBus",
        "ListEventBuses",
        "PutEvents",
    }
)
_RULE_BY_NAME: Final = frozenset(
    {"PutRule", "DescribeRule", "EnableRule", "DisableRule", "DeleteRule"}
)
_RULE_BY_RULE: Final = frozenset({"PutTargets", "RemoveTargets", "ListTargetsByRule"})
_BUS_BY_NAME: Final = frozenset({"CreateEventBus", "DescribeEventBus", "DeleteEventBus"})
# The wire's patterns (its lengths it checks itself): a name it takes is never ``*`` here.
_RULE: Final = re.compile(RULE_NAME)
_BUS: Final = re.compile(BUS_NAME)


def _text(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    return value if isinstance(value, str) else None


def _bus(value: object) -> str | None:
    """The bus a name-or-ARN names, None if it cannot name one."""
    if value is None:
        return DEFAULT_BUS
    if not isinstance(value, str):
        return None
    name = bus_name_of(value)
    return name if _BUS.fullmatch(name) else None


def events_operation(op: str, params: Mapping[str, Any], arns: Arns) -> Operation:
    if op not in EVENTS_OPERATIONS:
        return Operation(service="events", name=op, action=None)
    resource = ANY
    if op in _RULE_BY_NAME or op in _RULE_BY_RULE:
        bus = _bus(params.get("EventBusName"))
        name = _text(params, "Name" if op in _RULE_BY_NAME else "Rule")
        if bus is not None and name is not None and _RULE.fullmatch(name):
            resource = rule_arn(arns.region, arns.account, bus, name)
    elif op in _BUS_BY_NAME:
        bus = _bus(params.get("Name"))
        if bus is not None:
            resource = bus_arn(arns.region, arns.account, bus)
    elif op == "PutEvents":
        buses = entry_buses(params)
        if buses:
            resource = bus_arn(arns.region, arns.account, buses[0])
    return Operation(service="events", name=op, action=f"events:{op}", resource=resource)


def entry_buses(params: Mapping[str, Any]) -> list[str]:
    """The distinct buses PutEvents' entries name, in order (the default bus for an entry
    that names none); an entry naming no possible bus adds nothing."""
    entries = params.get("Entries")
    found: list[str] = []
    if not isinstance(entries, list):
        return found
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        bus = _bus(entry.get("EventBusName"))
        if bus is not None and bus not in found:
            found.append(bus)
    return found


def implied(operation: Operation, params: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(action, resource) pairs ``operation`` (``events_operation``'s) needs beyond its own
    (see the module's docstring)."""
    if operation.name == "PutEvents":
        # The first bus's ARN is the operation's own: the others are in its region and account.
        parts = operation.resource.split(":")
        if len(parts) != 6:
            return []
        return [
            ("events:PutEvents", bus_arn(parts[3], parts[4], bus))
            for bus in entry_buses(params)[1:]
        ]
    if operation.name != "PutTargets" or not isinstance(params.get("Targets"), list):
        return []
    checks: list[tuple[str, str]] = []
    for target in params["Targets"]:
        if not isinstance(target, dict):
            continue
        dead_letter = target.get("DeadLetterConfig")
        arns_of_target = [
            target.get("Arn"),
            dead_letter.get("Arn") if isinstance(dead_letter, dict) else None,
        ]
        for arn in arns_of_target:
            if not isinstance(arn, str):
                continue
            parts = arn.split(":")
            if len(parts) == 6 and parts[0] == "arn" and parts[2] in ("sqs", "sns"):
                action = "sqs:SendMessage" if parts[2] == "sqs" else "sns:Publish"
                checks.append((action, arn))
    return checks
