"""What follows a failed delivery (pure), the same for EventBridge's and Scheduler's targets:
retry with back-off while attempts and age allow, else give up — at once for a failure no
retry would cure; and the shell that runs it on a clock the test moves."""

from __future__ import annotations

import asyncio

import pytest

from nimbus.events.delivery_retry import (
    Exhausted,
    Failure,
    GiveUp,
    Limits,
    Retrier,
    Retry,
    after_failure,
)
from nimbus.testing.clock import ManualClock

T = 1_000_000.0
DEFAULTS = Limits(retry_attempts=185, event_age_s=86_400)
THROTTLED = Failure(code="THROTTLING", message="slow down", retryable=True)


@pytest.mark.parametrize(
    ("retries", "now", "limits", "expected"),
    [
        (0, T, DEFAULTS, Retry(at=T + 1)),
        (3, T + 100, DEFAULTS, Retry(at=T + 108)),
        (20, T + 100, DEFAULTS, Retry(at=T + 400)),  # capped at five minutes
        (2, T, Limits(retry_attempts=2, event_age_s=86_400),
         GiveUp(condition="MaximumRetryAttempts")),
        (0, T, Limits(retry_attempts=0, event_age_s=86_400),
         GiveUp(condition="MaximumRetryAttempts")),
        # the next retry would start after the event's maximum age
        (5, T + 59, Limits(retry_attempts=185, event_age_s=60),
         GiveUp(condition="MaximumEventAgeInSeconds")),
    ],
)  # fmt: skip
def test_after_a_retryable_failure(
    retries: int, now: float, limits: Limits, expected: Retry | GiveUp
) -> None:
    step = after_failure(retryable=True, retries=retries, started_at=T, now=now, limits=limits)
    assert step == expected


def test_a_failure_no_retry_cures_gives_up_at_once() -> None:
    step = after_failure(retryable=False, retries=0, started_at=T, now=T, limits=DEFAULTS)
    assert step == GiveUp(condition=None)


class SleepingClock(ManualClock):
    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


async def test_the_shell_retries_then_gives_up_with_the_limit_that_ended_it() -> None:
    clock = SleepingClock(T)
    retrier = Retrier(clock=clock)
    attempts: list[float] = []
    gave_up: list[tuple[Failure, int, Exhausted | None]] = []

    async def attempt() -> Failure | None:
        attempts.append(clock.now() - T)
        return THROTTLED

    async def give_up(failure: Failure, retries: int, condition: Exhausted | None) -> None:
        gave_up.append((failure, retries, condition))

    limits = Limits(retry_attempts=3, event_age_s=86_400)
    await retrier.run(attempt, limits=limits, started_at=T, give_up=give_up, what="t")
    for _ in range(20):
        await asyncio.sleep(0)
    assert attempts == [0, 1, 3, 7]  # the first attempt, then 1 s, 2 s, 4 s apart
    assert gave_up == [(THROTTLED, 3, "MaximumRetryAttempts")]
    await retrier.close()


async def test_an_attempt_that_raises_is_a_retryable_internal_error() -> None:
    clock = SleepingClock(T)
    retrier = Retrier(clock=clock)
    calls: list[int] = []
    gave_up: list[tuple[Failure, int, Exhausted | None]] = []

    async def attempt() -> Failure | None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("the store went away")
        return None

    async def give_up(failure: Failure, retries: int, condition: Exhausted | None) -> None:
        gave_up.append((failure, retries, condition))

    await retrier.run(attempt, limits=DEFAULTS, started_at=T, give_up=give_up, what="t")
    for _ in range(5):
        await asyncio.sleep(0)
    assert (len(calls), gave_up) == (2, [])
    await retrier.close()
