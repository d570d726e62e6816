"""Retrying a failed delivery, then the dead-letter queue: what EventBridge's targets
(``delivery``) and EventBridge Scheduler's (``schedule_delivery``) share. The policy is pure
(``after_failure``); ``Retrier`` is the thin shell that sleeps on the injected clock, tries
again and gives up.

AWS's rules, the same for both ("Event retry policy and using dead-letter queues",
EventBridge user guide; "Configuring a retry policy", Scheduler user guide):

- a failure no retry would cure (no permission, no such target, a payload the target
  refuses) gives up at once, with no retry;
- another (throttled, the service failing) is retried with an exponential back-off, 1 s
  doubling to 5 minutes (``mapping_rules.backoff_s``), until ``MaximumRetryAttempts``
  retries are spent or the next one would start after ``MaximumEventAgeInSeconds`` — then
  it gives up, and says which limit ended it (``EXHAUSTED_RETRY_CONDITION``);
- giving up sends the payload to the target's dead-letter queue, if it has one, with the
  attributes the service names; without one the payload is dropped (logged).

The first attempt is awaited by whoever delivers; retries run in the background, kept in
memory (a restart drops them), and ``close()`` cancels them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from nimbus.clock import Clock
from nimbus.errors import NimbusError
from nimbus.events.destinations import QueuePort
from nimbus.events.mapping_rules import backoff_s
from nimbus.model.queue import MessageAttribute

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 300.0
Exhausted = Literal["MaximumRetryAttempts", "MaximumEventAgeInSeconds"]


@dataclass(frozen=True, kw_only=True)
class Failure:
    """One failed attempt: the dead-letter message's ERROR_CODE and ERROR_MESSAGE, and
    whether another attempt might succeed."""

    code: str
    message: str
    retryable: bool


@dataclass(frozen=True, kw_only=True)
class Limits:
    """A target's RetryPolicy."""

    retry_attempts: int  # MaximumRetryAttempts
    event_age_s: float  # MaximumEventAgeInSeconds


@dataclass(frozen=True, kw_only=True)
class Retry:
    at: float


@dataclass(frozen=True, kw_only=True)
class GiveUp:
    condition: Exhausted | None  # None: the failure is not one to retry


def after_failure(
    *, retryable: bool, retries: int, started_at: float, now: float, limits: Limits
) -> Retry | GiveUp:
    """What follows a failed attempt at ``now``, ``retries`` retries having been made of a
    delivery that started (its event's age counts from) ``started_at``."""
    if not retryable:
        return GiveUp(condition=None)
    if retries >= limits.retry_attempts:
        return GiveUp(condition="MaximumRetryAttempts")
    at = now + backoff_s(retries + 1, initial_s=BACKOFF_INITIAL_S, max_s=BACKOFF_MAX_S)
    if at - started_at > limits.event_age_s:
        return GiveUp(condition="MaximumEventAgeInSeconds")
    return Retry(at=at)


Attempt = Callable[[], Awaitable[Failure | None]]
# (the last failure, the retries made, the limit that ended them or None)
OnGiveUp = Callable[[Failure, int, Exhausted | None], Awaitable[None]]


class Retrier:
    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._retrying: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in list(self._retrying):
            task.cancel()
        await asyncio.gather(*self._retrying, return_exceptions=True)

    async def run(
        self,
        attempt: Attempt,
        *,
        limits: Limits,
        started_at: float,
        give_up: OnGiveUp,
        what: str,
    ) -> None:
        """The first attempt now; a failure no retry cures gives up before this returns, a
        retryable one is retried in the background (so one failing target never holds up
        the others, nor the timer). ``what`` names the delivery in the log."""
        failure = await self._try(attempt, what)
        if failure is None:
            return
        if not failure.retryable:
            await give_up(failure, 0, None)
            return
        task = asyncio.create_task(self._retry(attempt, limits, started_at, give_up, failure, what))
        self._retrying.add(task)
        task.add_done_callback(self._retrying.discard)

    async def _retry(
        self,
        attempt: Attempt,
        limits: Limits,
        started_at: float,
        give_up: OnGiveUp,
        failure: Failure,
        what: str,
    ) -> None:
        retries = 0
        while True:
            now = self._clock.now()
            step = after_failure(
                retryable=failure.retryable,
                retries=retries,
                started_at=started_at,
                now=now,
                limits=limits,
            )
            if isinstance(step, GiveUp):
                await give_up(failure, retries, step.condition)
                return
            await self._clock.sleep(step.at - now)
            retries += 1
            next_failure = await self._try(attempt, what)
            if next_failure is None:
                return
            failure = next_failure

    @staticmethod
    async def _try(attempt: Attempt, what: str) -> Failure | None:
        try:
            return await attempt()
        except Exception as err:  # the store failing, say: worth another try
            log.exception("%s: a delivery attempt failed unexpectedly", what)
            return Failure(code="INTERNAL_ERROR", message=type(err).__name__, retryable=True)


async def send_dead_letter(
    queues: QueuePort, arn: str, body: str, values: Mapping[str, str], *, what: str
) -> None:
    """Send ``body`` to the dead-letter queue ``arn`` with ``values`` as String attributes;
    a queue that fails (gone, the store failing) is logged, since nothing more can be done
    with the payload. ``what`` names the delivery in the log (the rule, the schedule)."""
    attributes = {
        name: MessageAttribute(data_type="String", string_value=value)
        for name, value in values.items()
    }
    try:
        await queues.send_to_arn(arn, body, attributes)
    except Exception as err:
        log.warning(
            "%s: dead-letter queue %s failed (%s): payload dropped",
            what,
            arn,
            err.message if isinstance(err, NimbusError) else type(err).__name__,
        )
