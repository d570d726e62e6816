"""What happens to an async event after an attempt: a pure function over a snapshot.

AWS's rules (Lambda developer guide, "How Lambda handles errors and retries with asynchronous
invocation"):

- a function error (the handler raised, timed out, crashed) spends one of
  MaximumRetryAttempts (0-2, default 2); the retries wait about one, then two minutes;
- a throttle (429) or a system error (5xx) spends no attempt: the event goes back to the queue
  and is retried with an exponential back-off from 1 second up to 5 minutes, for as long as
  the event is younger than MaximumEventAgeInSeconds (default six hours);
- an event that runs out of attempts is discarded with condition ``RetriesExhausted``, one that
  grows too old with ``EventAgeExceeded``; either goes to the on-failure destination and the
  dead-letter queue;
- an event for a function whose reserved concurrency is 0 is not kept for six hours of
  throttles: it is discarded at once with condition ``ZeroReservedConcurrency`` (AWS's record
  for it has ``approximateInvokeCount`` 0 and no response).

A retry that could only start after the event's maximum age is not scheduled: the event is
discarded as ``EventAgeExceeded`` at once, rather than being kept only to be dropped later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OutcomeKind = Literal["success", "function_error", "throttle", "system_error"]
Condition = Literal["Success", "RetriesExhausted", "EventAgeExceeded", "ZeroReservedConcurrency"]


@dataclass(frozen=True, kw_only=True)
class RetrySettings:
    function_error_delays_s: tuple[float, ...] = (60.0, 120.0)
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 300.0


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """A snapshot of one event right after an attempt."""

    outcome: OutcomeKind
    now: float
    enqueued_at: float
    function_errors: int  # function errors before this attempt
    backoffs: int  # throttles and system errors before this attempt
    max_retry_attempts: int
    max_event_age_s: float
    # The function's reserved concurrency is 0 ("throttle" in the console): nothing can run it
    # until someone changes that, so no retry could succeed.
    zero_reserved: bool


@dataclass(frozen=True, kw_only=True)
class Deliver:
    """Done: acknowledge the event and send its record to the on-success destination."""

    condition: Condition = "Success"


@dataclass(frozen=True, kw_only=True)
class RetryAt:
    at: float
    function_error: bool  # whether this retry spends an attempt


@dataclass(frozen=True, kw_only=True)
class Discard:
    """Failed for good: on-failure destination and dead-letter queue, then acknowledge."""

    condition: Condition


Decision = Deliver | RetryAt | Discard


def too_old(*, now: float, enqueued_at: float, max_event_age_s: float) -> bool:
    """Checked before each attempt: an event older than its maximum age is not invoked."""
    return now - enqueued_at > max_event_age_s


def backoff_s(backoffs: int, settings: RetrySettings) -> float:
    """The wait after the ``backoffs``-th consecutive throttle or system error (0-based)."""
    return float(min(settings.backoff_max_s, settings.backoff_initial_s * 2 ** min(backoffs, 30)))


def function_error_delay_s(errors: int, settings: RetrySettings) -> float:
    """The wait before the retry that follows the ``errors``-th function error (1-based)."""
    delays = settings.function_error_delays_s or (0.0,)
    return delays[min(errors, len(delays)) - 1]


def decide(attempt: Attempt, settings: RetrySettings) -> Decision:
    if attempt.outcome == "success":
        return Deliver()
    if attempt.zero_reserved:
        return Discard(condition="ZeroReservedConcurrency")
    if attempt.outcome == "function_error":
        errors = attempt.function_errors + 1
        if errors > attempt.max_retry_attempts:
            return Discard(condition="RetriesExhausted")
        at = attempt.now + function_error_delay_s(errors, settings)
        return _unless_too_old(attempt, RetryAt(at=at, function_error=True))
    at = attempt.now + backoff_s(attempt.backoffs, settings)
    return _unless_too_old(attempt, RetryAt(at=at, function_error=False))


def _unless_too_old(attempt: Attempt, retry: RetryAt) -> Decision:
    if too_old(
        now=retry.at, enqueued_at=attempt.enqueued_at, max_event_age_s=attempt.max_event_age_s
    ):
        return Discard(condition="EventAgeExceeded")
    return retry
