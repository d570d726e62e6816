"""EventBridge's API (``X-Amz-Target: AWSEvents.<Operation>``, JSON 1.1 on ``POST /``):
buses, rules, targets and PutEvents, against botocore's ``events`` model.

Each operation reads its members (``eventbridge_wire``: the model's constraints, AWS's
words), calls the EventBridge services through the Protocols below (the frontend never
imports ``events``) and renders the model's output shape; errors are raised and rendered by
``errors.render_error`` as JSON 1.1 (``__type`` and ``message``; the root table marks the
protocol).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

from nimbus.errors import EventsValidationError, SerializationError, UnknownOperationError
from nimbus.frontend.eventbridge_wire import (
    BUS_NAME,
    NON_PARTNER_BUS,
    RULE_NAME,
    Members,
    bus_json,
    bus_member,
    failures_json,
    page,
    rule_json,
    rule_name,
    target_json,
    targets_member,
)
from nimbus.model.eventbridge import (
    RULE_STATES,
    EntryResult,
    EventBus,
    PutEventsEntry,
    Rule,
    RuleRequest,
    Target,
    TargetFailure,
)

EARLIEST_TIME = 0
LATEST_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z


class Buses(Protocol):
    """``events.buses.BusService``."""

    region: str
    account: str

    def arn(self, name: str) -> str: ...
    def get(self, name: str) -> EventBus: ...
    async def create(self, name: str, description: str | None) -> EventBus: ...
    async def delete(self, name: str) -> None: ...
    def list_buses(self, prefix: str = "") -> list[EventBus]: ...


class Rules(Protocol):
    """``events.rules.RuleService``."""

    def arn(self, bus: str, name: str) -> str: ...
    async def put_rule(self, request: RuleRequest) -> str: ...
    def describe(self, bus: str, name: str) -> Rule: ...
    def list_rules(self, bus: str, prefix: str = "") -> list[Rule]: ...
    async def set_state(self, bus: str, name: str, state: str) -> None: ...
    async def delete(self, bus: str, name: str, *, force: bool = False) -> None: ...
    async def put_targets(
        self, bus: str, name: str, targets: Sequence[Target]
    ) -> list[TargetFailure]: ...
    async def remove_targets(
        self, bus: str, name: str, ids: Sequence[str]
    ) -> list[TargetFailure]: ...
    def targets(self, bus: str, name: str) -> list[Target]: ...


class Events(Protocol):
    """``events.router.EventRouter``."""

    async def put_events(self, entries: Sequence[PutEventsEntry]) -> list[EntryResult]: ...


Result = dict[str, Any]


class EventBridgeApi:
    def __init__(self, *, buses: Buses, rules: Rules, events: Events) -> None:
        self._buses = buses
        self._rules = rules
        self._events = events
        self._operations: dict[str, Callable[[Members], Awaitable[Result]]] = {
            "PutRule": self.put_rule,
            "DescribeRule": self.describe_rule,
            "ListRules": self.list_rules,
            "EnableRule": self.enable_rule,
            "DisableRule": self.disable_rule,
            "DeleteRule": self.delete_rule,
            "PutTargets": self.put_targets,
            "RemoveTargets": self.remove_targets,
            "ListTargetsByRule": self.list_targets_by_rule,
            "CreateEventBus": self.create_event_bus,
            "DescribeEventBus": self.describe_event_bus,
            "DeleteEventBus": self.delete_event_bus,
            "ListEventBuses": self.list_event_buses,
            "PutEvents": self.put_events,
        }

    @property
    def operations(self) -> frozenset[str]:
        return frozenset(self._operations)

    async def call(self, operation: str, params: Mapping[str, Any]) -> Result:
        handler = self._operations.get(operation)
        if handler is None:
            raise UnknownOperationError(
                f"Operation AWSEvents.{operation} is not supported by Nimbus's EventBridge "
                f"(it has: {', '.join(sorted(self._operations))})."
            )
        return await handler(Members(params))

    # --- rules -----------------------------------------------------------------------------

    async def put_rule(self, m: Members) -> Result:
        request = RuleRequest(
            name=rule_name(m),
            bus=bus_member(m),
            schedule_expression=m.string("ScheduleExpression", max_len=256),
            event_pattern=m.string("EventPattern", max_len=4096),
            state=m.string("State", enum=RULE_STATES) or "ENABLED",
            description=m.string("Description", max_len=512),
            role_arn=m.string("RoleArn", min_len=1, max_len=1600),
        )
        m.items("Tags")  # accepted (a list), not kept: tags are not implemented
        m.done()
        return {"RuleArn": await self._rules.put_rule(request)}

    async def describe_rule(self, m: Members) -> Result:
        name, bus = rule_name(m), bus_member(m)
        m.done()
        rule = self._rules.describe(bus, name)
        return rule_json(rule, self._rules.arn(bus, name), account=self._buses.account)

    async def list_rules(self, m: Members) -> Result:
        prefix = m.string("NamePrefix", min_len=1, max_len=64, pattern=RULE_NAME) or ""
        bus = bus_member(m)
        rules = self._rules.list_rules(bus, prefix)
        chosen, token = page(rules, [r.name for r in rules], m)
        out: Result = {"Rules": [rule_json(r, self._rules.arn(r.bus, r.name)) for r in chosen]}
        if token is not None:
            out["NextToken"] = token
        return out

    async def enable_rule(self, m: Members) -> Result:
        return await self._set_state(m, "ENABLED")

    async def disable_rule(self, m: Members) -> Result:
        return await self._set_state(m, "DISABLED")

    async def _set_state(self, m: Members, state: str) -> Result:
        name, bus = rule_name(m), bus_member(m)
        m.done()
        await self._rules.set_state(bus, name, state)
        return {}

    async def delete_rule(self, m: Members) -> Result:
        name, bus, force = rule_name(m), bus_member(m), m.boolean("Force")
        m.done()
        await self._rules.delete(bus, name, force=force)
        return {}

    # --- targets ---------------------------------------------------------------------------

    async def put_targets(self, m: Members) -> Result:
        name, bus = rule_name(m, "Rule"), bus_member(m)
        targets = targets_member(m)
        m.done()
        return failures_json(await self._rules.put_targets(bus, name, targets))

    async def remove_targets(self, m: Members) -> Result:
        name, bus, _force = rule_name(m, "Rule"), bus_member(m), m.boolean("Force")
        ids = m.items("Ids", required=True, min_len=1, max_len=100)
        if not all(isinstance(i, str) for i in ids):
            raise SerializationError("ids must be a list of target ids (strings).")
        m.done()
        return failures_json(await self._rules.remove_targets(bus, name, ids))

    async def list_targets_by_rule(self, m: Members) -> Result:
        name, bus = rule_name(m, "Rule"), bus_member(m)
        m.done()
        targets = self._rules.targets(bus, name)
        keys = [f"{i:06d}" for i in range(len(targets))]  # their order: first put first
        chosen, token = page(targets, keys, m)
        out: Result = {"Targets": [target_json(t) for t in chosen]}
        if token is not None:
            out["NextToken"] = token
        return out

    # --- buses -----------------------------------------------------------------------------

    async def create_event_bus(self, m: Members) -> Result:
        name = m.string("Name", required=True, min_len=1, max_len=256, pattern=BUS_NAME) or ""
        description = m.string("Description", max_len=512)
        m.string("EventSourceName", min_len=1, max_len=256)
        m.string("KmsKeyIdentifier", max_len=2048)
        m.structure("DeadLetterConfig")
        m.structure("LogConfig")
        m.items("Tags")
        m.done()
        if m.raw("EventSourceName") is not None:
            raise EventsValidationError(
                "Partner event buses (EventSourceName) are not supported by Nimbus: create a "
                "custom event bus without one."
            )
        bus = await self._buses.create(name, description)
        out: Result = {"EventBusArn": self._buses.arn(bus.name)}
        if bus.description is not None:
            out["Description"] = bus.description
        return out

    async def describe_event_bus(self, m: Members) -> Result:
        name = bus_member(m, "Name")
        m.done()
        bus = self._buses.get(name)
        return bus_json(bus, self._buses.arn(bus.name))

    async def delete_event_bus(self, m: Members) -> Result:
        name = m.string("Name", required=True, min_len=1, max_len=256, pattern=BUS_NAME) or ""
        m.done()
        await self._buses.delete(name)
        return {}

    async def list_event_buses(self, m: Members) -> Result:
        prefix = m.string("NamePrefix", min_len=1, max_len=256, pattern=BUS_NAME) or ""
        buses = self._buses.list_buses(prefix)
        chosen, token = page(buses, [b.name for b in buses], m)
        out: Result = {"EventBuses": [bus_json(b, self._buses.arn(b.name)) for b in chosen]}
        if token is not None:
            out["NextToken"] = token
        return out

    # --- events ----------------------------------------------------------------------------

    async def put_events(self, m: Members) -> Result:
        raw_entries = m.items("Entries", required=True)
        m.string("EndpointId", min_len=1, max_len=50)
        entries = [
            _entry(m.element("Entries", index, raw)) for index, raw in enumerate(raw_entries)
        ]
        m.done()
        results = await self._events.put_events(entries)
        rendered: list[dict[str, str | None]] = []
        for result in results:
            if result.event_id is not None:
                rendered.append({"EventId": result.event_id})
            else:
                rendered.append(
                    {"ErrorCode": result.error_code, "ErrorMessage": result.error_message}
                )
        return {
            "FailedEntryCount": sum(1 for r in results if r.event_id is None),
            "Entries": rendered,
        }


def _entry(m: Members) -> PutEventsEntry:
    resources = m.items("Resources")
    if not all(isinstance(r, str) for r in resources):
        raise SerializationError("Resources must be a list of strings (ARNs).")
    when = m.raw("Time")
    if when is not None and (isinstance(when, bool) or not isinstance(when, int | float)):
        raise SerializationError("Time must be a timestamp (epoch seconds).")
    # What the event's "time" can spell (RFC 3339's four-digit years, from 1970): AWS
    # answers a Time it cannot read as a date with a SerializationException.
    if when is not None and not EARLIEST_TIME <= when <= LATEST_TIME:
        raise SerializationError(
            f"Time {when!r} cannot be converted to a date: it must be epoch seconds from "
            f"{EARLIEST_TIME} (1970-01-01T00:00:00Z) to {LATEST_TIME} (9999-12-31T23:59:59Z)."
        )
    bus = m.string("EventBusName", min_len=1, max_len=1600, pattern=NON_PARTNER_BUS)
    return PutEventsEntry(
        source=m.string("Source"),
        detail_type=m.string("DetailType"),
        detail=m.string("Detail"),
        resources=tuple(resources),
        bus=bus,
        time=None if when is None else float(when),
        trace_header=m.string("TraceHeader", min_len=1, max_len=500),
    )
