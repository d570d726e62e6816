"""Stopping recursive loops: the trace header each invocation runs with continues its
caller's lineage (``events/lineage.py``), and the invocation after a function's 16th in one
chain is refused with RecursiveInvocationException when the function's RecursiveLoop is
Terminate (the default) — counted in RecursiveInvocationsDropped and logged, as AWS
notifies. The invoker calls this before it takes any concurrency.

What happens to a refused invocation is its caller's business, as on AWS: a synchronous
Invoke gets the 400; an asynchronous event goes to its on-failure destination and DLQ (the
event poller); an event source mapping's message stays in its queue until the queue's
redrive policy moves it; an SNS delivery is an asynchronous invoke like any other.
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol

from nimbus.errors import RecursiveInvocationError
from nimbus.events import lineage
from nimbus.model.arn import Arns

log = logging.getLogger(__name__)


class RecursionSettings(Protocol):
    async def mode(self, name: str) -> str:
        """``Allow`` or ``Terminate``; never raises (an unknown function is Terminate)."""
        ...


class DroppedCounter(Protocol):
    def recursion_dropped(self, name: str) -> None: ...


class LoopGuard:
    def __init__(
        self, *, recursion: RecursionSettings, metrics: DroppedCounter, arns: Arns
    ) -> None:
        self._recursion = recursion
        self._metrics = metrics
        self._arns = arns

    async def trace_for(self, function: str, incoming: str | None, now: float) -> str:
        """The trace header of this invocation of ``function``; raises
        RecursiveInvocationError when it is the 17th of a chain and must not run."""
        arn = self._arns.function(function)
        header, prior = lineage.next_hop(
            incoming,
            arn,
            new_root=f"1-{int(now):08x}-{secrets.token_hex(12)}",
            new_parent=secrets.token_hex(8),
        )
        if lineage.is_loop_to_stop(prior) and await self._recursion.mode(function) == "Terminate":
            self._metrics.recursion_dropped(function)
            log.warning(
                "recursive loop stopped: %s already ran %d times in this chain "
                "(RecursiveLoop=Terminate)",
                arn,
                prior,
            )
            raise RecursiveInvocationError(
                f"Lambda detected that {arn} is being invoked in a recursive loop (it already "
                f"ran {prior} times for this event) and stopped the invocation. Set its "
                "RecursiveLoop to Allow with PutFunctionRecursionConfig if the loop is intended."
            )
        return header
