"""Admission decisions of the Counting Service, as pure functions over a snapshot.

AWS's rules (Lambda developer guide, "Lambda function scaling" and "reserved concurrency"):
- the account has a concurrency limit (1,000 by default);
- a function with reserved concurrency N runs at most N at once and those N are taken out of
  the shared pool (reserved 0 throttles every invoke);
- functions without a reservation share what is left ("unreserved"), of which at least 100
  must always remain;
- each function may add at most 1,000 new execution environments every 10 seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

MIN_UNRESERVED = 100

RESERVED_LIMIT = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_LIMIT = "ConcurrentInvocationLimitExceeded"
SCALING_RATE = "FunctionInvocationRateLimitExceeded"


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    account_limit: int
    reserved_total: int  # sum of every function's reserved concurrency
    unreserved_in_flight: int  # in-flight invocations of functions without a reservation
    function_reserved: int | None  # this function's reservation, None when it has none
    function_in_flight: int


@dataclass(frozen=True, kw_only=True)
class Decision:
    admitted: bool
    reason: str | None = None
    message: str = ""


ADMIT = Decision(admitted=True)


def admit(snapshot: Snapshot) -> Decision:
    if snapshot.function_reserved is not None:
        if snapshot.function_in_flight >= snapshot.function_reserved:
            return Decision(
                admitted=False,
                reason=RESERVED_LIMIT,
                message="Rate Exceeded.",
            )
        return ADMIT
    unreserved = snapshot.account_limit - snapshot.reserved_total
    if snapshot.unreserved_in_flight >= unreserved:
        return Decision(admitted=False, reason=ACCOUNT_LIMIT, message="Rate Exceeded.")
    return ADMIT


def check_reservation(
    *, account_limit: int, other_reserved_total: int, requested: int
) -> str | None:
    """Why a PutFunctionConcurrency of ``requested`` must be refused, or None."""
    if requested < 0:
        return "ReservedConcurrentExecutions must be 0 or more."
    left = account_limit - other_reserved_total - requested
    if left < MIN_UNRESERVED:
        return (
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
        )
    return None


def scaling_allows(starts: Sequence[float], now: float, *, limit: int, window_s: float) -> bool:
    """May a function start one more environment, given the times of its recent starts?"""
    recent = sum(1 for start in starts if now - start < window_s)
    return recent < limit
