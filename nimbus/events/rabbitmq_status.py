"""The lifecycle of a RabbitMQ mapping's consumer as an explicit state machine, and what
GetEventSourceMapping reports of it.

    CONNECTING --connected--> CONSUMING --batch--> CONSUMING
        ^   |                     |
        |   +--failed--+          +--lost / failed--+
        |              v                            v
        +--retry---- WAITING <----------------------+
    (any) --stop--> STOPPED

A consumer that cannot connect, log in or find its queue waits and tries again, for as long
as the mapping is enabled: delays double from ``initial_s`` up to ``max_s``, so a broker that
comes back (or credentials that are fixed) is picked up within ``max_s``. While it fails, the
mapping reports it as AWS reports an Amazon MQ consumer stopped by an error
("Troubleshoot Amazon MQ event source mapping errors"): ``StateTransitionReason`` one of
``EVENT_SOURCE_AUTHN_ERROR`` (credentials refused), ``EVENT_SOURCE_AUTHZ_ERROR`` (access
refused), ``ESM_CONFIG_NOT_VALID`` (no such queue, virtual host, broker or secret),
``FUNCTION_CONFIG_NOT_VALID`` (no such function), and ``LastProcessingResult`` a
``PROBLEM: ...`` line saying what to fix; a broker that cannot be reached reports
``PROBLEM: Connection error...`` (Lambda's words for Kafka and MQ sources). Recovery puts
back ``USER_INITIATED`` (the user's last change is again the one in force) and
``No records processed`` until the next batch reports ``OK``.

Pure: each transition is a function from a state (and what happened) to the next state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Literal

from nimbus.events.mapping_rules import backoff_s
from nimbus.model.event_source_mapping import USER_INITIATED

NO_RECORDS = "No records processed"
OK = "OK"
CONNECTION_ERROR = (
    "PROBLEM: Connection error. Please check your event source connection configuration."
)
FUNCTION_FAILED = "PROBLEM: Function call failed"
FUNCTION_THROTTLED = "PROBLEM: Function call throttled"


class Phase(Enum):
    CONNECTING = "connecting"
    CONSUMING = "consuming"
    WAITING = "waiting"  # after a failure, until the retry
    STOPPED = "stopped"


class Problem(Enum):
    """Why the consumer is not consuming, and the StateTransitionReason AWS gives it."""

    CONNECTION = None  # unreachable, refused, dropped: no code of its own (USER_INITIATED)
    AUTHENTICATION = "EVENT_SOURCE_AUTHN_ERROR"
    AUTHORIZATION = "EVENT_SOURCE_AUTHZ_ERROR"
    CONFIGURATION = "ESM_CONFIG_NOT_VALID"
    FUNCTION = "FUNCTION_CONFIG_NOT_VALID"


_HEADLINES = {
    Problem.CONNECTION: CONNECTION_ERROR,
    Problem.AUTHENTICATION: "PROBLEM: Lambda failed to authenticate with the broker.",
    Problem.AUTHORIZATION: "PROBLEM: The broker refused Lambda access.",
    Problem.CONFIGURATION: "PROBLEM: The event source mapping configuration is not valid.",
    Problem.FUNCTION: "PROBLEM: The function's configuration is not valid.",
}


@dataclass(frozen=True, kw_only=True)
class Failure:
    """What went wrong, with a detail that says what to fix (never a password)."""

    problem: Problem
    detail: str

    @property
    def result(self) -> str:
        return f"{_HEADLINES[self.problem]} {self.detail}".strip()


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    initial_s: float = 1.0
    max_s: float = 30.0


@dataclass(frozen=True, kw_only=True)
class ConsumerState:
    phase: Phase = Phase.CONNECTING
    failures: int = 0  # failed attempts in a row (connections, or invokes)
    retry_in_s: float = 0.0  # how long WAITING lasts
    problem: Problem | None = None  # the failure being reported, if any
    state_reason: str = USER_INITIATED
    last_result: str = NO_RECORDS


BatchOutcome = Literal["ok", "function_error", "throttled", "function_missing", "error"]


def connected(state: ConsumerState) -> ConsumerState:
    """The consumer is attached to its queue: a source-side problem is over."""
    source_problem = state.problem not in (None, Problem.FUNCTION)
    return replace(
        state,
        phase=Phase.CONSUMING,
        failures=0 if source_problem else state.failures,
        retry_in_s=0.0,
        problem=None if source_problem else state.problem,
        state_reason=USER_INITIATED if source_problem else state.state_reason,
        last_result=NO_RECORDS if source_problem else state.last_result,
    )


def failed(state: ConsumerState, failure: Failure, policy: RetryPolicy) -> ConsumerState:
    """Connecting or consuming failed: report it, and wait before the next attempt."""
    failures = state.failures + 1
    return replace(
        state,
        phase=Phase.WAITING,
        failures=failures,
        retry_in_s=backoff_s(failures, initial_s=policy.initial_s, max_s=policy.max_s),
        problem=failure.problem,
        state_reason=failure.problem.value or USER_INITIATED,
        last_result=failure.result,
    )


def retrying(state: ConsumerState) -> ConsumerState:
    return replace(state, phase=Phase.CONNECTING, retry_in_s=0.0)


def resumed(state: ConsumerState) -> ConsumerState:
    """A new consumer after an update or re-enable: it connects at once (the user may have
    just fixed what failed), reporting the old result until it knows more."""
    return replace(state, phase=Phase.CONNECTING, failures=0, retry_in_s=0.0)


def processed(
    state: ConsumerState, outcome: BatchOutcome, policy: RetryPolicy, *, detail: str = ""
) -> ConsumerState:
    """After one batch's invoke: success reports OK; a failure (the batch goes back to the
    queue) reports it and sets how long to pause before the next batch."""
    if outcome == "ok":
        return replace(
            state,
            phase=Phase.CONSUMING,
            failures=0,
            retry_in_s=0.0,
            problem=None,
            state_reason=USER_INITIATED,
            last_result=OK,
        )
    failures = state.failures + 1
    pause = backoff_s(failures, initial_s=policy.initial_s, max_s=policy.max_s)
    if outcome == "function_missing":
        failure = Failure(problem=Problem.FUNCTION, detail=detail)
        return replace(
            state,
            failures=failures,
            retry_in_s=pause,
            problem=Problem.FUNCTION,
            state_reason=Problem.FUNCTION.value or USER_INITIATED,
            last_result=failure.result,
        )
    result = {
        "function_error": FUNCTION_FAILED,
        "throttled": FUNCTION_THROTTLED,
        "error": f"PROBLEM: {detail}" if detail else FUNCTION_FAILED,
    }[outcome]
    return replace(
        state,
        failures=failures,
        retry_in_s=pause,
        problem=None,
        state_reason=USER_INITIATED,
        last_result=result,
    )


def dropped(state: ConsumerState, reason: str) -> ConsumerState:
    """A message that cannot become a record was acked and dropped (redelivering it would
    fail the same way forever): the mapping says so until the next batch reports; nothing
    else changes, the consumer goes on."""
    return replace(
        state,
        last_result=f"PROBLEM: A message was dropped: Nimbus cannot turn it into a record "
        f"({reason}).",
    )


def stopped(state: ConsumerState) -> ConsumerState:
    return replace(state, phase=Phase.STOPPED, retry_in_s=0.0)
