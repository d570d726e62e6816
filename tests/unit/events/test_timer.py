"""The one timer over a real (temporary SQLite) store and a manual clock: a tick fires at
most once, across restarts and crashes too, and on one node of several sharing the store;
ticks missed while down are not replayed, but a one-time schedule whose time passed is;
stalls skip instead of bursting; one key's failing store write does not stop the others;
flexible windows and bounds. A "restart" is a new Timer over the same store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.events.schedule_expression import LAST_EPOCH_S, parse_schedule
from nimbus.events.timer import LATE_S, Firing, Timer, TimerSpec, arm, decide
from nimbus.store.database import open_engine
from nimbus.store.timers import TimerRepository
from nimbus.testing.clock import ManualClock

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z, a whole minute


class Fixed:
    def __init__(self, value: float = 0.0) -> None:
        self.value = value

    def random(self) -> float:
        return self.value


class Recorder:
    def __init__(self, repo: TimerRepository | None = None) -> None:
        self.fired: list[Firing] = []
        self.recorded_first: list[bool] = []
        self._repo = repo

    async def __call__(self, firing: Firing) -> None:
        if self._repo is not None:
            # The tick is durable before the callback runs.
            self.recorded_first.append(await self._repo.last_fired(firing.key) == firing.tick)
        self.fired.append(firing)

    @property
    def ticks(self) -> list[float]:
        return [f.tick - T0 for f in self.fired]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield engine
    await engine.dispose()


def _timer(engine: AsyncEngine, clock: ManualClock, random: float = 0.0) -> Timer:
    return Timer(fired=TimerRepository(engine), clock=clock, random=Fixed(random))


def _rate(minutes: int = 1, **kw: float) -> TimerSpec:
    unit = "minute" if minutes == 1 else "minutes"
    return TimerSpec(
        schedule=parse_schedule(f"rate({minutes} {unit})"),
        not_before=kw.get("not_before", T0),
        anchor=kw.get("anchor", T0),
        end=kw.get("end"),
        window_s=kw.get("window_s", 0.0),
    )


def _at(offset_s: float) -> TimerSpec:
    text = f"at({_iso(T0 + offset_s)})"
    return TimerSpec(schedule=parse_schedule(text), not_before=T0)


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S")


async def _run(timer: Timer, clock: ManualClock, seconds: int, step: int = 1) -> None:
    """Advance the clock ``seconds`` in ``step``s, one timer pass after each (the loop's
    interval is one second)."""
    for _ in range(0, seconds, step):
        clock.advance(step)
        await timer.tick()


async def test_a_rate_fires_each_tick_once_from_its_anchor(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    timer, calls = _timer(engine, clock), Recorder(TimerRepository(engine))
    await timer.register("k", _rate(), calls)
    await timer.tick()  # a rate fires at its anchor (Scheduler: "immediately")
    await _run(timer, clock, 180)
    assert calls.ticks == [0, 60, 120, 180]
    assert all(calls.recorded_first)
    assert not any(f.final for f in calls.fired)


async def test_an_at_fires_once_when_due_and_is_final(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    timer, calls = _timer(engine, clock), Recorder()
    await timer.register("k", _at(90), calls)
    await _run(timer, clock, 89)
    assert calls.fired == []
    await _run(timer, clock, 60)
    assert calls.ticks == [90]
    assert calls.fired[0].final
    await _run(timer, clock, 3600)
    assert calls.ticks == [90]


async def test_no_tick_fires_twice_across_a_restart(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    first, calls = _timer(engine, clock), Recorder()
    await first.register("k", _rate(), calls)
    await _run(first, clock, 60)  # ticks 0 and 60
    await first.close()
    # Restarted at once (same second): tick 60 was written down, so only 120 comes next.
    second = _timer(engine, clock)
    await second.register("k", _rate(), calls)
    await second.tick()
    await _run(second, clock, 60)
    assert calls.ticks == [0, 60, 120]


async def test_a_crash_after_writing_a_tick_loses_it_rather_than_repeating_it(
    engine: AsyncEngine,
) -> None:
    clock = ManualClock(T0)
    repo = TimerRepository(engine)

    async def crash(firing: Firing) -> None:
        raise RuntimeError("the process died while delivering")

    first = _timer(engine, clock)
    await first.register("k", _at(0), crash)
    await first.tick()  # written down, then the callback "crashes" (logged, not raised)
    assert await repo.last_fired("k") == T0
    second, calls = _timer(engine, clock), Recorder()
    await second.register("k", _at(0), calls)
    await _run(second, clock, 120)
    assert calls.fired == []


async def test_ticks_missed_while_down_are_not_replayed(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    first, calls = _timer(engine, clock), Recorder()
    await first.register("k", _rate(), calls)
    await first.tick()  # tick 0
    await first.close()
    clock.advance(6 * 3600 + 90)  # down six hours and a half minute: 361 ticks missed
    second = _timer(engine, clock)
    await second.register("k", _rate(), calls)
    await second.tick()
    await _run(second, clock, 30)
    # Only the tick of 30 s ago (within the one-minute lateness AWS's precision allows) fires,
    # late, at start; the 360 before it are not replayed. Then the schedule goes on.
    assert calls.ticks == [0, 6 * 3600 + 60, 6 * 3600 + 120]


async def test_a_tick_missed_by_a_quick_restart_still_fires_late(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    first, calls = _timer(engine, clock), Recorder()
    await first.register("k", _rate(), calls)
    await first.tick()
    await first.close()
    clock.advance(75)  # tick 60 passed 15 s ago, within AWS's one-minute precision
    second = _timer(engine, clock)
    await second.register("k", _rate(), calls)
    await second.tick()
    assert calls.ticks == [0, 60]


async def test_an_at_whose_time_passed_while_down_fires_once_on_start(
    engine: AsyncEngine,
) -> None:
    clock = ManualClock(T0)
    first, calls = _timer(engine, clock), Recorder()
    await first.register("k", _at(600), calls)
    await first.close()
    clock.advance(3 * 3600)  # down across its time
    second = _timer(engine, clock)
    await second.register("k", _at(600), calls)
    await second.tick()
    assert calls.ticks == [600]
    await second.close()
    third = _timer(engine, clock)  # and a later restart does not fire it again
    await third.register("k", _at(600), calls)
    await _run(third, clock, 5)
    assert calls.ticks == [600]


async def test_a_stall_skips_overdue_ticks_instead_of_bursting(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    timer, calls = _timer(engine, clock), Recorder()
    await timer.register("k", _rate(), calls)
    await timer.tick()
    clock.advance(600)  # the process was suspended for ten minutes
    await timer.tick()
    await timer.tick()
    assert calls.ticks == [0, 600]


async def test_a_flexible_window_fires_within_it(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    timer, calls = _timer(engine, clock, random=0.5), Recorder()
    await timer.register("k", _rate(60, window_s=600.0), calls)  # fires at T0 + 300
    await _run(timer, clock, 299)
    assert calls.fired == []
    await _run(timer, clock, 1)
    assert calls.ticks == [0]  # the nominal tick is what is written down
    clock.advance(3599)  # the next one: its window's draw puts it at T0 + 3600 + 300
    await timer.tick()
    assert calls.ticks == [0]
    await _run(timer, clock, 1)
    assert calls.ticks == [0, 3600]


async def test_bounds_and_the_final_tick(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    timer, calls = _timer(engine, clock), Recorder()
    await timer.register("k", _rate(not_before=T0 + 120, end=T0 + 240), calls)
    await _run(timer, clock, 400)
    assert calls.ticks == [120, 180]  # not before StartDate; 240 is EndDate, excluded
    assert [f.final for f in calls.fired] == [False, True]


async def test_unregister_stops_it_and_forgetting_lets_a_new_one_start_afresh(
    engine: AsyncEngine,
) -> None:
    clock = ManualClock(T0)
    timer, calls = _timer(engine, clock), Recorder()
    await timer.register("k", _at(10), calls)
    await _run(timer, clock, 20)
    await timer.register("k", _at(10), calls)  # the same schedule again: already fired
    await _run(timer, clock, 5)
    assert calls.ticks == [10]
    await timer.unregister("k")  # deleted, then created again under its name
    await timer.register("k", _at(10), calls)
    await timer.tick()
    assert calls.ticks == [10, 10]
    await timer.unregister("k")
    await timer.register("k", _rate(), calls)
    await timer.unregister("k", forget=False)
    await _run(timer, clock, 120)
    assert calls.ticks == [10, 10]


async def test_one_failing_callback_does_not_stop_the_others(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    timer, calls = _timer(engine, clock), Recorder()

    async def broken(firing: Firing) -> None:
        raise RuntimeError("target down")

    await timer.register("a", _rate(), broken)
    await timer.register("b", _rate(), calls)
    await _run(timer, clock, 60)
    assert [f.key for f in calls.fired] == ["b", "b"]


async def test_a_callback_may_unregister_its_own_timer(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    timer = _timer(engine, clock)
    fired: list[float] = []

    async def delete_after(firing: Firing) -> None:
        fired.append(firing.tick)
        await timer.unregister(firing.key)  # ActionAfterCompletion DELETE

    await timer.register("k", _rate(), delete_after)
    await _run(timer, clock, 120)
    assert fired == [T0]


class FlakyLog:
    """A FiredLog over the real store whose writes for ``failing`` keys raise."""

    def __init__(self, repo: TimerRepository) -> None:
        self.repo = repo
        self.failing: set[str] = set()

    async def last_fired(self, key: str) -> float | None:
        return await self.repo.last_fired(key)

    async def record(self, key: str, tick: float) -> bool:
        if key in self.failing:
            raise OSError("database is locked")
        return await self.repo.record(key, tick)

    async def forget(self, key: str) -> None:
        await self.repo.forget(key)


async def test_a_failing_write_for_one_key_neither_stops_the_others_nor_loses_its_tick(
    engine: AsyncEngine,
) -> None:
    clock = ManualClock(T0)
    fired = FlakyLog(TimerRepository(engine))
    timer = Timer(fired=fired, clock=clock, random=Fixed())
    calls = Recorder()
    # Registered in this order, so "a"'s write fails before "b" and "c" are taken.
    for key in ("a", "b", "c"):
        await timer.register(key, _rate(), calls)
    fired.failing = {"a"}
    await timer.tick()
    assert sorted(f.key for f in calls.fired) == ["b", "c"]
    fired.failing = set()
    await _run(timer, clock, 1)  # the store is back: "a"'s tick fires, a second late
    assert sorted(f.key for f in calls.fired) == ["a", "b", "c"]
    assert [f.tick for f in calls.fired if f.key == "a"] == [T0]


async def test_of_two_nodes_on_one_store_only_one_fires_each_tick(engine: AsyncEngine) -> None:
    clock = ManualClock(T0)
    one, two = _timer(engine, clock), _timer(engine, clock)
    calls = Recorder()
    await one.register("k", _rate(), calls)
    await two.register("k", _rate(), calls)
    for _ in range(180):
        await one.tick()
        await two.tick()
        clock.advance(1)
    assert calls.ticks == [0, 60, 120]  # each once, though both nodes have the timer armed


async def test_recording_a_tick_is_a_compare_and_set(engine: AsyncEngine) -> None:
    repo = TimerRepository(engine)
    assert await repo.record("k", T0) is True  # the first row
    assert await repo.record("k", T0) is False  # the same tick again: another node's
    assert await repo.record("k", T0 - 60) is False  # never backwards
    assert await repo.record("k", T0 + 60) is True
    assert await repo.last_fired("k") == T0 + 60


def test_arm_and_decide_are_pure() -> None:
    spec = _rate()
    assert arm(spec, last_fired=None, now=T0) == T0
    assert arm(spec, last_fired=T0, now=T0 + 1) == T0 + 60
    assert arm(spec, last_fired=T0, now=T0 + 3600) == T0 + 3600  # not T0 + 60
    assert decide(spec, fire_at=T0, now=T0 - 1) == "wait"
    assert decide(spec, fire_at=T0, now=T0 + LATE_S) == "fire"
    assert decide(spec, fire_at=T0, now=T0 + LATE_S + 1) == "skip"
    at = _at(0)
    assert decide(at, fire_at=T0, now=T0 + 86400) == "fire"
    assert arm(at, last_fired=T0, now=T0 + 5) is None


def test_no_tick_falls_after_2199() -> None:
    """The last tick a schedule can have is the last before 2200 (a rate's next one after it
    is no tick, and the one before is final), as a cron's year field ends there."""
    start = LAST_EPOCH_S - 86_400
    spec = TimerSpec(schedule=parse_schedule("rate(2 days)"), not_before=start, anchor=start)
    assert arm(spec, last_fired=None, now=start) == start
    assert arm(spec, last_fired=start, now=start + 1) is None
