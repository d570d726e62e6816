"""EventBridge's rules and their targets: held in memory, compiled once (every PutEvents
matches against them), written through to the store before an answer.

AWS's answers (LocalStack's AWS-validated snapshots): PutRule creates or replaces a rule
(keeping its targets); an unknown rule is ResourceNotFoundException "Rule <name> does not
exist on EventBus <bus>."; DeleteRule refuses a rule that still has targets ("Rule can't be
deleted since it has targets.", ValidationException; ``Force`` deletes them too) and
succeeds for one that does not exist; a rule holds at most 5 targets
(LimitExceededException "The requested resource exceeds the maximum number allowed.");
RemoveTargets fails, per id, a target the rule does not have.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Concatenate, ParamSpec, TypeVar

from nimbus.clock import Clock
from nimbus.errors import (
    EventsResourceNotFoundError,
    EventsValidationError,
    LimitExceededError,
    NimbusError,
)
from nimbus.events.buses import BusService
from nimbus.events.event_pattern import matches
from nimbus.events.rule_config import CompiledRule, compile_rule
from nimbus.events.targets import partition
from nimbus.model.eventbridge import Rule, RuleRequest, Target, TargetFailure, rule_arn
from nimbus.store.eventbridge import EventBridgeRepository

MAX_RULES_PER_BUS = 300  # AWS's default quota
MAX_TARGETS_PER_RULE = 5  # AWS's fixed limit
LIMIT_EXCEEDED = "The requested resource exceeds the maximum number allowed."
# Told the rule (None once deleted) whenever a rule, its state or its targets change: the
# scheduled rules' timers follow.
RuleChanged = Callable[[str, str, CompiledRule | None], Awaitable[None]]


P = ParamSpec("P")
R = TypeVar("R")


def _exclusive(
    method: Callable[Concatenate[RuleService, P], Coroutine[Any, Any, R]],
) -> Callable[Concatenate[RuleService, P], Coroutine[Any, Any, R]]:
    """A write of the service's, run under its lock."""

    async def locked(self: RuleService, /, *args: P.args, **kwargs: P.kwargs) -> R:
        async with self._lock:
            return await method(self, *args, **kwargs)

    return locked


@dataclass(slots=True)
class _Entry:
    compiled: CompiledRule
    targets: dict[str, Target]


class RuleService:
    def __init__(self, *, repo: EventBridgeRepository, buses: BusService, clock: Clock) -> None:
        self._repo = repo
        self._buses = buses
        self._clock = clock
        self._rules: dict[str, dict[str, _Entry]] = {}  # bus -> name -> entry
        self._listeners: list[RuleChanged] = []
        # One write at a time: a check (a limit, the targets a delete refuses) and the write
        # it allows are not split by another request's write.
        self._lock = asyncio.Lock()

    def load(self, rules: Iterable[Rule], targets: Iterable[tuple[str, str, Target]]) -> None:
        """Hold the store's rules and targets (a rule that no longer compiles is kept, without
        its pattern or schedule: a newer Nimbus may have written it)."""
        for rule in rules:
            try:
                compiled = compile_rule(rule)
            except NimbusError:
                compiled = CompiledRule(rule=rule, pattern=None, schedule=None)
            self._rules.setdefault(rule.bus, {})[rule.name] = _Entry(compiled, {})
        for bus, name, target in targets:
            entry = self._rules.get(bus, {}).get(name)
            if entry is not None:
                entry.targets[target.id] = target

    def on_change(self, listener: RuleChanged) -> None:
        self._listeners.append(listener)

    async def _changed(self, bus: str, name: str) -> None:
        entry = self._rules.get(bus, {}).get(name)
        for listener in self._listeners:
            await listener(bus, name, entry.compiled if entry is not None else None)

    def arn(self, bus: str, name: str) -> str:
        return rule_arn(self._buses.region, self._buses.account, bus, name)

    def _entry(self, bus: str, name: str) -> _Entry:
        self._buses.get(bus)  # an unknown bus is named as such first
        entry = self._rules.get(bus, {}).get(name)
        if entry is None:
            raise EventsResourceNotFoundError(f"Rule {name} does not exist on EventBus {bus}.")
        return entry

    # --- rules -----------------------------------------------------------------------------

    @_exclusive
    async def put_rule(self, request: RuleRequest) -> str:
        """Create or replace a rule (its targets stay); returns its ARN."""
        self._buses.get(request.bus)
        on_bus = self._rules.setdefault(request.bus, {})
        existing = on_bus.get(request.name)
        if existing is None and len(on_bus) >= MAX_RULES_PER_BUS:
            raise LimitExceededError(LIMIT_EXCEEDED)
        now = self._clock.now()
        rule = Rule(
            bus=request.bus,
            name=request.name,
            event_pattern=request.event_pattern,
            schedule_expression=request.schedule_expression,
            state=request.state,
            description=request.description,
            role_arn=request.role_arn,
            created_at=existing.compiled.rule.created_at if existing is not None else now,
            modified_at=now,
        )
        compiled = compile_rule(rule)
        await self._repo.put_rule(rule)
        on_bus[request.name] = _Entry(compiled, existing.targets if existing is not None else {})
        await self._changed(request.bus, request.name)
        return self.arn(request.bus, request.name)

    def describe(self, bus: str, name: str) -> Rule:
        return self._entry(bus, name).compiled.rule

    def list_rules(self, bus: str, prefix: str = "") -> list[Rule]:
        """The bus's rules whose name starts with ``prefix``, by name."""
        self._buses.get(bus)
        on_bus = self._rules.get(bus, {}).values()
        found = (e.compiled.rule for e in on_bus if e.compiled.rule.name.startswith(prefix))
        return sorted(found, key=lambda r: r.name)

    @_exclusive
    async def set_state(self, bus: str, name: str, state: str) -> None:
        entry = self._entry(bus, name)
        rule = replace(entry.compiled.rule, state=state, modified_at=self._clock.now())
        await self._repo.put_rule(rule)
        entry.compiled = replace(entry.compiled, rule=rule)
        await self._changed(bus, name)

    @_exclusive
    async def delete(self, bus: str, name: str, *, force: bool = False) -> None:
        self._buses.get(bus)
        entry = self._rules.get(bus, {}).get(name)
        if entry is None:
            return
        if entry.targets and not force:
            raise EventsValidationError("Rule can't be deleted since it has targets.")
        await self._repo.delete_rule(bus, name)
        del self._rules[bus][name]
        await self._changed(bus, name)

    @_exclusive
    async def bus_deleted(self, bus: str) -> None:
        """The bus and its rules are gone from the store (``BusService.delete``)."""
        names = list(self._rules.pop(bus, {}))
        for name in names:
            await self._changed(bus, name)

    # --- targets ---------------------------------------------------------------------------

    @_exclusive
    async def put_targets(
        self, bus: str, name: str, targets: Sequence[Target]
    ) -> list[TargetFailure]:
        """Put (add or replace) the targets Nimbus can deliver to; the failures of the rest."""
        entry = self._entry(bus, name)
        accepted, failed = partition(
            targets, region=self._buses.region, account=self._buses.account
        )
        new_ids = {t.id for t in accepted} - set(entry.targets)
        if len(entry.targets) + len(new_ids) > MAX_TARGETS_PER_RULE:
            raise LimitExceededError(LIMIT_EXCEEDED)
        now = self._clock.now()
        put = [
            replace(t, added_at=entry.targets[t.id].added_at if t.id in entry.targets else now)
            for t in accepted
        ]
        await self._repo.put_targets(bus, name, put)
        entry.targets.update({t.id: t for t in put})
        await self._changed(bus, name)
        return failed

    @_exclusive
    async def remove_targets(self, bus: str, name: str, ids: Sequence[str]) -> list[TargetFailure]:
        entry = self._entry(bus, name)
        present = [i for i in dict.fromkeys(ids) if i in entry.targets]
        await self._repo.delete_targets(bus, name, present)
        for target_id in present:
            del entry.targets[target_id]
        await self._changed(bus, name)
        return [
            TargetFailure(
                target_id=target_id,
                code="ResourceNotFoundException",
                message=f"Rule '{name}' does not have a target with the Id '{target_id}'.",
            )
            for target_id in ids
            if target_id not in present
        ]

    def targets(self, bus: str, name: str) -> list[Target]:
        """The rule's targets, in the order they were first put."""
        return sorted(self._entry(bus, name).targets.values(), key=lambda t: (t.added_at, t.id))

    # --- delivery --------------------------------------------------------------------------

    def matching(
        self, bus: str, event: Mapping[str, Any]
    ) -> list[tuple[CompiledRule, list[Target]]]:
        """The enabled rules of ``bus`` whose pattern ``event`` matches, with their targets."""
        found = []
        for entry in self._rules.get(bus, {}).values():
            compiled = entry.compiled
            if compiled.pattern is None or not compiled.rule.enabled:
                continue
            if matches(compiled.pattern, event):
                found.append((compiled, self.targets(bus, compiled.rule.name)))
        return found

    def current(self, bus: str, name: str) -> tuple[CompiledRule, list[Target]] | None:
        """A rule and its targets now (a scheduled rule about to fire), or None."""
        entry = self._rules.get(bus, {}).get(name)
        if entry is None:
            return None
        return entry.compiled, self.targets(bus, name)

    def scheduled(self) -> list[CompiledRule]:
        return [
            e.compiled
            for on_bus in self._rules.values()
            for e in on_bus.values()
            if e.compiled.schedule is not None
        ]
