"""PutEvents and scheduled rules' firings: each event matched against its bus's enabled rules
(``event_pattern.matches``), and sent to every target of every rule it matches.

AWS's answers (LocalStack's AWS-validated snapshots): each entry gets an ``EventId`` or its
own ``ErrorCode``/``ErrorMessage`` (``envelope.build_event``), in the entries' order, with
``FailedEntryCount``; an entry for a bus that does not exist is accepted (an EventId) and
goes nowhere. A rule with a ScheduleExpression and no EventPattern matches no PutEvents
event; it fires on its schedule instead.

PutEvents answers once each matched target's first delivery attempt is done, so what it
accepted is already in its target's queue (durable) when the caller hears of it.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from nimbus.clock import Clock
from nimbus.events.buses import BusService
from nimbus.events.delivery import Delivery, TargetDelivery
from nimbus.events.envelope import (
    EntryError,
    build_event,
    check_request,
    iso_time,
    scheduled_event,
)
from nimbus.events.rule_config import CompiledRule
from nimbus.events.rules import RuleService
from nimbus.model.eventbridge import DEFAULT_BUS, EntryResult, PutEventsEntry, Target, bus_name_of

log = logging.getLogger(__name__)


class EventRouter:
    def __init__(
        self,
        *,
        buses: BusService,
        rules: RuleService,
        delivery: TargetDelivery,
        clock: Clock,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._buses = buses
        self._rules = rules
        self._delivery = delivery
        self._clock = clock
        self._new_id = new_id

    async def put_events(self, entries: Sequence[PutEventsEntry]) -> list[EntryResult]:
        """Each entry's result; raises EventsValidationError for the request's own limits."""
        check_request(entries)
        now = self._clock.now()
        results: list[EntryResult] = []
        deliveries: list[Delivery] = []
        for entry in entries:
            event_id = self._new_id()
            event = build_event(
                entry,
                event_id=event_id,
                received_at=now,
                region=self._buses.region,
                account=self._buses.account,
            )
            if isinstance(event, EntryError):
                results.append(EntryResult(error_code=event.code, error_message=event.message))
                continue
            results.append(EntryResult(event_id=event_id))
            bus = bus_name_of(entry.bus or DEFAULT_BUS)
            if not self._buses.exists(bus):
                continue
            for compiled, targets in self._rules.matching(bus, event):
                deliveries += self._deliveries(compiled, targets, event, now)
        await self._deliver_all(deliveries)
        return results

    async def fire(self, bus: str, name: str, fired_at: float) -> None:
        """A scheduled rule's tick: its Scheduled Event to each of its targets (nothing if
        the rule is gone or disabled)."""
        current = self._rules.current(bus, name)
        if current is None or not current[0].rule.enabled:
            return
        compiled, targets = current
        event = scheduled_event(
            event_id=self._new_id(),
            rule_arn=self._rules.arn(bus, name),
            fired_at=fired_at,
            region=self._buses.region,
            account=self._buses.account,
        )
        deliveries = self._deliveries(compiled, targets, event, self._clock.now())
        await self._deliver_all(deliveries)

    async def _deliver_all(self, deliveries: list[Delivery]) -> None:
        # Deliveries report their own failures (the DLQ, the log); one never stops another.
        outcomes = await asyncio.gather(
            *(self._delivery.deliver(d) for d in deliveries), return_exceptions=True
        )
        for delivery, outcome in zip(deliveries, outcomes, strict=True):
            if isinstance(outcome, Exception):
                log.error(
                    "rule %s: delivering to %s failed",
                    delivery.rule_arn,
                    delivery.target.arn,
                    exc_info=outcome,
                )

    def _deliveries(
        self, compiled: CompiledRule, targets: list[Target], event: dict[str, Any], now: float
    ) -> list[Delivery]:
        rule = compiled.rule
        arn = self._rules.arn(rule.bus, rule.name)
        return [
            Delivery(
                rule_arn=arn,
                rule_name=rule.name,
                target=target,
                event=event,
                ingestion_time=iso_time(now),
                started_at=now,
            )
            for target in targets
        ]
