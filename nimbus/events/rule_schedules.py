"""Scheduled EventBridge rules on the one timer (``events/timer.py``): each enabled rule with
a ScheduleExpression is armed under ``rule:<bus>/<name>``, re-armed when it changes,
disarmed when it is disabled or deleted; each tick is the router's ``fire``.

A rate rule's ticks count from the rule's creation, the first one period after it (a
``rate(1 minute)`` rule fires a minute after PutRule, then every minute); a cron rule fires
on its minutes from its creation on; a tick that passed while the rule was disabled never
fires. The timer makes each tick fire at most once, across
restarts too, and never replays ticks missed while the server was down.
"""

from __future__ import annotations

from nimbus.events.router import EventRouter
from nimbus.events.rule_config import CompiledRule
from nimbus.events.rules import RuleService
from nimbus.events.schedule_expression import RateSchedule, Schedule
from nimbus.events.timer import Firing, Timer, TimerSpec

PREFIX = "rule:"


def key_of(bus: str, name: str) -> str:
    return f"{PREFIX}{bus}/{name}"


def timer_spec(schedule: Schedule, *, created_at: float, modified_at: float) -> TimerSpec:
    """What the timer runs for a rule created at ``created_at`` and last changed (enabled,
    say) at ``modified_at`` (pure). Ticks from before its last change never fire — not a tick
    that passed while it was disabled — nor, for a rate, the one at its creation itself."""
    if isinstance(schedule, RateSchedule):
        not_before = max(created_at + 1.0, modified_at)
        return TimerSpec(schedule=schedule, not_before=not_before, anchor=created_at)
    return TimerSpec(schedule=schedule, not_before=modified_at)


class RuleSchedules:
    def __init__(self, *, timer: Timer, rules: RuleService, router: EventRouter) -> None:
        self._timer = timer
        self._rules = rules
        self._router = router

    async def load(self) -> None:
        """Arm every enabled scheduled rule (after a restart too), and follow changes."""
        for compiled in self._rules.scheduled():
            await self.rule_changed(compiled.rule.bus, compiled.rule.name, compiled)
        self._rules.on_change(self.rule_changed)

    async def close(self) -> None:
        """Disarm every rule (their last ticks stay written down for the next start)."""
        for compiled in self._rules.scheduled():
            await self._timer.unregister(
                key_of(compiled.rule.bus, compiled.rule.name), forget=False
            )

    async def rule_changed(self, bus: str, name: str, compiled: CompiledRule | None) -> None:
        key = key_of(bus, name)
        if compiled is None:
            await self._timer.unregister(key)  # deleted: a rule made later starts afresh
            return
        if compiled.schedule is None or not compiled.rule.enabled:
            await self._timer.unregister(key, forget=False)
            return
        rule = compiled.rule
        spec = timer_spec(
            compiled.schedule, created_at=rule.created_at, modified_at=rule.modified_at
        )
        await self._timer.register(key, spec, self._fire)

    async def _fire(self, firing: Firing) -> None:
        bus, _, name = firing.key.removeprefix(PREFIX).partition("/")
        await self._router.fire(bus, name, firing.tick)
