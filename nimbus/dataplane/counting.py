"""The Counting Service: concurrency leases per function, reservations, throttles.

All state lives on the one event loop, so no locks: a lease is taken and given back
between awaits.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from nimbus.clock import Clock
from nimbus.dataplane import counting_policy as policy
from nimbus.errors import TooManyRequestsError


@dataclass(frozen=True, kw_only=True)
class Usage:
    in_flight: int
    peak: int


class Counting:
    def __init__(
        self,
        *,
        clock: Clock,
        account_limit: int,
        reservations: Mapping[str, int] | None = None,
        scale_limit: int = 1000,
        scale_window_s: float = 10.0,
    ) -> None:
        self._clock = clock
        self.account_limit = account_limit
        self._reserved: dict[str, int] = dict(reservations or {})
        self._in_flight: dict[str, int] = defaultdict(int)
        self._unreserved_in_flight = 0
        self._total = 0
        self._peak_total = 0
        self._peak: dict[str, int] = defaultdict(int)
        self._starts: dict[str, deque[float]] = defaultdict(deque)
        self._scale_limit = scale_limit
        self._scale_window_s = scale_window_s

    # --- reservations (PutFunctionConcurrency) ----------------------------------------------

    def reserved(self, name: str) -> int | None:
        return self._reserved.get(name)

    @property
    def reserved_total(self) -> int:
        return sum(self._reserved.values())

    @property
    def unreserved_limit(self) -> int:
        return self.account_limit - self.reserved_total

    def check_reservation(self, name: str, requested: int) -> str | None:
        others = self.reserved_total - self._reserved.get(name, 0)
        return policy.check_reservation(
            account_limit=self.account_limit, other_reserved_total=others, requested=requested
        )

    def set_reservation(self, name: str, value: int | None) -> None:
        # Moving a function in or out of the shared pool moves its in-flight count with it.
        was_shared = name not in self._reserved
        if value is None:
            self._reserved.pop(name, None)
        else:
            self._reserved[name] = value
        now_shared = name not in self._reserved
        if was_shared != now_shared:
            delta = self._in_flight.get(name, 0)
            self._unreserved_in_flight += delta if now_shared else -delta

    # --- leases -----------------------------------------------------------------------------

    @asynccontextmanager
    async def lease(self, name: str) -> AsyncIterator[None]:
        """Hold one unit of concurrency for ``name``, or raise a 429 throttle."""
        decision = policy.admit(
            policy.Snapshot(
                account_limit=self.account_limit,
                reserved_total=self.reserved_total,
                unreserved_in_flight=self._unreserved_in_flight,
                function_reserved=self._reserved.get(name),
                function_in_flight=self._in_flight.get(name, 0),
            )
        )
        if not decision.admitted:
            raise throttle(decision.reason or policy.ACCOUNT_LIMIT, decision.message)
        shared = name not in self._reserved
        self._in_flight[name] += 1
        self._total += 1
        if shared:
            self._unreserved_in_flight += 1
        self._peak[name] = max(self._peak[name], self._in_flight[name])
        self._peak_total = max(self._peak_total, self._total)
        try:
            yield
        finally:
            self._in_flight[name] -= 1
            self._total -= 1
            # Where this lease is counted now: set_reservation moves in-flight counts between
            # the shared pool and the function's own when a reservation changes mid-lease.
            if name not in self._reserved:
                self._unreserved_in_flight -= 1
            if self._in_flight[name] == 0:
                del self._in_flight[name]

    def note_environment_start(self, name: str) -> None:
        """Check and record a new environment against the per-function scaling rate."""
        now = self._clock.monotonic()
        starts = self._starts[name]
        while starts and now - starts[0] >= self._scale_window_s:
            starts.popleft()
        if not policy.scaling_allows(
            starts, now, limit=self._scale_limit, window_s=self._scale_window_s
        ):
            raise throttle(policy.SCALING_RATE, "Rate Exceeded.")
        starts.append(now)

    def usage(self, name: str | None = None) -> Usage:
        if name is None:
            return Usage(in_flight=self._total, peak=self._peak_total)
        return Usage(in_flight=self._in_flight.get(name, 0), peak=self._peak.get(name, 0))


def throttle(reason: str, message: str) -> TooManyRequestsError:
    return TooManyRequestsError(message, Reason=reason, retryAfterSeconds=1)
