"""The one timer service: EventBridge rules' and EventBridge Scheduler's schedules both fire
from here, on the injected clock.

What is due is decided purely (``arm``, ``decide``) from a timer's spec, the last tick it
fired and the time now; ``Timer`` is the thin shell that keeps the armed ticks, writes each
firing down and calls back. AWS's behaviour reproduced:

- **At most once.** A tick's time is written to the store (``timer_fired``) *before* its
  callback runs, and a tick at or before the last one written never fires: not after a
  restart, not after a crash between the write and the callback (that tick is lost instead
  — AWS, too, promises at-least-once delivery only of what it started, and no duplicate
  schedule ticks).
- **No catch-up.** A recurring schedule's ticks missed while the server was down are not
  replayed: a timer armed at ``now`` waits for the first tick after ``now - LATE_S``. One
  minute is AWS's own precision ("invokes its target with 60 second precision": Scheduler
  user guide, "Schedule types"), so a tick missed by a quick restart still fires, late, and
  a tick from an hour ago does not; the same rule skips ticks that fall due while the
  process is stalled (a suspended laptop) instead of firing them in a burst.
- **Except one-time schedules.** An ``at()`` whose time passed while the server was down
  (never fired) fires once when the timer is armed: skipping it would lose the only
  invocation.
- **Flexible time windows.** A tick fires at a random time within ``[tick, tick +
  window)`` (FlexibleTimeWindow FLEXIBLE), drawn when the tick is armed.
- **One node fires each tick.** Writing a tick down is a compare-and-set
  (``FiredLog.record``): of the nodes sharing one store (one PostgreSQL), only the one whose
  write moved the timer's last tick forward calls back; the others arm their next tick.
- **One key's trouble is its own.** A tick whose write fails (the store unreachable) is
  logged and stays armed, tried again on the next pass (and skipped once more than
  ``LATE_S`` overdue); the other keys' ticks of that pass still fire.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from nimbus.clock import Clock, Periodic, Random
from nimbus.events.schedule_expression import LAST_EPOCH_S, AtSchedule, Schedule, next_fire

log = logging.getLogger(__name__)

# How late a recurring tick may still fire (see the module's docstring).
LATE_S = 60.0
# Ticks at exactly ``not_before`` count (a rate schedule fires at its creation); next_fire
# is strictly-after, so the search starts this much earlier.
_INCLUSIVE_S = 1e-3


@dataclass(frozen=True, kw_only=True)
class TimerSpec:
    schedule: Schedule
    # Ticks before this never fire: the schedule's creation or last change (AWS does not
    # fire ticks from before a schedule existed), or its StartDate when later.
    not_before: float
    end: float | None = None  # ticks at or after this never fire (EndDate)
    anchor: float | None = None  # rate(): ticks at anchor + k * period (StartDate, creation)
    window_s: float = 0.0  # FlexibleTimeWindow's MaximumWindowInMinutes, in seconds


@dataclass(frozen=True, kw_only=True)
class Firing:
    key: str
    tick: float  # the tick's nominal time (what was written down), not when it ran
    final: bool  # no tick follows (an at(), or the last before EndDate or the end of 2199)


Callback = Callable[[Firing], Awaitable[None]]


def next_tick(spec: TimerSpec, *, after: float) -> float | None:
    """The spec's first tick strictly after ``after``, within its bounds; None: no more.
    An ``at()`` ignores the bounds (Scheduler ignores StartDate and EndDate for one-time
    schedules)."""
    schedule = spec.schedule
    if isinstance(schedule, AtSchedule):
        return schedule.at_s if schedule.at_s > after else None
    base = max(after, spec.not_before - _INCLUSIVE_S)
    tick = next_fire(schedule, base, anchor_epoch_s=spec.anchor)
    if tick is None or tick > LAST_EPOCH_S or (spec.end is not None and tick >= spec.end):
        return None
    return tick


def arm(spec: TimerSpec, *, last_fired: float | None, now: float) -> float | None:
    """The tick to wait for: after the last one fired and, for a recurring schedule, not
    more than LATE_S before ``now`` (no catch-up); an at() not yet fired is due however long
    ago its time was. None: nothing will ever fire."""
    schedule = spec.schedule
    if isinstance(schedule, AtSchedule):
        fired = last_fired is not None and last_fired >= schedule.at_s
        return None if fired else schedule.at_s
    floor = now - LATE_S
    return next_tick(spec, after=floor if last_fired is None else max(last_fired, floor))


def decide(spec: TimerSpec, *, fire_at: float, now: float) -> Literal["wait", "fire", "skip"]:
    """What to do with an armed tick that runs at ``fire_at``: not yet; fire it; or skip it,
    a recurring tick more than LATE_S overdue (the process stalled)."""
    if now < fire_at:
        return "wait"
    if now - fire_at > LATE_S and not isinstance(spec.schedule, AtSchedule):
        return "skip"
    return "fire"


class FiredLog(Protocol):
    """Each timer's last fired tick, durably (``store.timers.TimerRepository``)."""

    async def last_fired(self, key: str) -> float | None: ...

    async def record(self, key: str, tick: float) -> bool:
        """Write ``tick`` down as ``key``'s last fired tick if it is later than the one
        written (compare-and-set); True when this write did it (this node fires the tick),
        False when the tick (or a later one) was already written. Returns once committed."""

    async def forget(self, key: str) -> None: ...


@dataclass(kw_only=True)
class _Armed:
    spec: TimerSpec
    callback: Callback
    tick: float | None  # None: finished
    fire_at: float


class Timer:
    """Keyed timers over one clock. ``tick()`` is one pass (tests call it after advancing a
    manual clock); ``start()`` runs it every ``interval_s`` until ``close()``."""

    def __init__(
        self, *, fired: FiredLog, clock: Clock, random: Random, interval_s: float = 1.0
    ) -> None:
        self._fired = fired
        self._clock = clock
        self._random = random
        self._armed: dict[str, _Armed] = {}
        self._loop = Periodic(
            self.tick, clock=clock, interval_s=interval_s, what="the timer", first_now=True
        )
        self._lock = asyncio.Lock()

    def start(self) -> None:
        self._loop.start()

    async def close(self) -> None:
        await self._loop.close()
        self._armed.clear()

    async def register(self, key: str, spec: TimerSpec, callback: Callback) -> None:
        """Arm (or re-arm, replacing) ``key``; its last fired tick is read from the store, so
        a timer registered again after a restart or a change never repeats a tick."""
        async with self._lock:
            last = await self._fired.last_fired(key)
            self._armed[key] = self._arm(spec, callback, last)

    async def unregister(self, key: str, *, forget: bool = True) -> None:
        """Disarm ``key``; ``forget`` also drops its last fired tick (the thing is deleted,
        and one created later under its name starts afresh)."""
        async with self._lock:
            self._armed.pop(key, None)
            if forget:
                await self._fired.forget(key)

    async def tick(self) -> None:
        """Fire every timer that is due, each tick written down before its callback runs.
        The callbacks run after the timers are re-armed and the lock is let go, so one may
        register or unregister timers (a schedule deleting itself)."""
        async with self._lock:
            calls = await self._take_due(self._clock.now())
        await asyncio.gather(*calls)

    async def _take_due(self, now: float) -> list[Awaitable[None]]:
        calls: list[Awaitable[None]] = []
        for key, armed in list(self._armed.items()):
            if armed.tick is None:
                continue
            try:
                call = await self._take(key, armed, now)
            except Exception:
                # The store failing for this key: its tick stays armed for the next pass;
                # the other keys go on.
                log.exception("timer %s: writing tick %.0f down failed", key, armed.tick)
                continue
            if call is not None:
                calls.append(call)
        return calls

    async def _take(self, key: str, armed: _Armed, now: float) -> Awaitable[None] | None:
        """The callback ``armed`` is due for, if any; its following tick armed."""
        assert armed.tick is not None
        verdict = decide(armed.spec, fire_at=armed.fire_at, now=now)
        if verdict == "wait":
            return None
        following = self._following(key, armed, now)
        if verdict == "skip":
            log.info("timer %s: tick %.0f overdue, skipped (no catch-up)", key, armed.tick)
            self._armed[key] = following
            return None
        won = await self._fired.record(key, armed.tick)  # raises: stays armed as it was
        self._armed[key] = following
        if not won:
            log.debug("timer %s: tick %.0f fired by another node", key, armed.tick)
            return None
        firing = Firing(key=key, tick=armed.tick, final=following.tick is None)
        return _guarded(armed.callback, firing)

    def _following(self, key: str, armed: _Armed, now: float) -> _Armed:
        """``armed`` re-armed for its tick after this one; finished (logged) if that cannot
        be computed, rather than failing every pass from now on."""
        try:
            return self._arm(armed.spec, armed.callback, armed.tick, now)
        except Exception:
            log.exception("timer %s: the tick after %.0f cannot be computed", key, armed.tick)
            return _Armed(spec=armed.spec, callback=armed.callback, tick=None, fire_at=0.0)

    def _arm(
        self, spec: TimerSpec, callback: Callback, last: float | None, now: float | None = None
    ) -> _Armed:
        tick = arm(spec, last_fired=last, now=self._clock.now() if now is None else now)
        offset = self._random.random() * spec.window_s if spec.window_s > 0 else 0.0
        fire_at = 0.0 if tick is None else tick + offset
        return _Armed(spec=spec, callback=callback, tick=tick, fire_at=fire_at)


async def _guarded(callback: Callback, firing: Firing) -> None:
    # One timer's failing target never stops the others' (nor the loop).
    try:
        await callback(firing)
    except Exception:
        log.exception("timer %s: the callback for tick %.0f failed", firing.key, firing.tick)
