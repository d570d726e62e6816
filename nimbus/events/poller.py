"""The poller pool: runs claimed async events through the invoker (the same path as sync
invokes), then acts on the retry policy's decision.

    claim (lease with expiry) -> too old? -> invoker.invoke(request_id=event id, Event)
      success          -> OnSuccess destination, delete
      function error   -> reschedule after a delay, spending an attempt
      throttle/system  -> reschedule with back-off, spending no attempt
      exhausted / aged -> OnFailure destination and DLQ, delete
      reserved = 0     -> OnFailure destination and DLQ at once (ZeroReservedConcurrency)

Each outcome is written before the event is let go; a crash in between means the claim
expires and the event runs again: at least once, as AWS promises.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from nimbus.clock import Clock
from nimbus.dataplane.ports import InvokerPort
from nimbus.errors import (
    NimbusError,
    RecursiveInvocationError,
    ResourceNotFoundError,
    TooManyRequestsError,
)
from nimbus.events import lineage, policy
from nimbus.events.destinations import Destinations
from nimbus.events.inbox import EventInbox
from nimbus.events.records import (
    Response,
    dead_letter_attributes,
    error_message,
    invocation_record,
)
from nimbus.model.arn import LATEST, Arns, parse_function_ref
from nimbus.model.async_event import AsyncEvent
from nimbus.model.event_config import EffectiveEventConfig
from nimbus.model.invoke import InvokeCall
from nimbus.store.async_events import AsyncEventRepository
from nimbus.store.group_commit import GroupCommit

log = logging.getLogger(__name__)

RECURSION_DROPPED = "RecursiveInvocationException"  # the record's condition for a stopped loop
# (function, qualifier) -> the function's DeadLetterConfig target, if any
DeadLetterLookup = Callable[[str, str | None], Awaitable[str | None]]


class ConfigPort(Protocol):
    def effective(self, function: str, qualifier: str | None) -> EffectiveEventConfig: ...


class ReservationPort(Protocol):
    """A function's reserved concurrency (PutFunctionConcurrency), read from memory.

    ``None`` when the function has no reservation; never raises (a function unknown to it has
    none)."""

    def reserved(self, name: str) -> int | None: ...


class EventPoller:
    def __init__(
        self,
        *,
        repo: AsyncEventRepository,
        commit: GroupCommit,
        invoker: InvokerPort,
        configs: ConfigPort,
        reservations: ReservationPort,
        destinations: Destinations,
        dead_letter: DeadLetterLookup,
        arns: Arns,
        retry: policy.RetrySettings,
        clock: Clock,
        inbox: EventInbox,
        concurrency: int = 64,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._repo = repo
        self._commit = commit
        self._invoker = invoker
        self._configs = configs
        self._reservations = reservations
        self._destinations = destinations
        self._dead_letter = dead_letter
        self._arns = arns
        self._retry = retry
        self._clock = clock
        self._concurrency = max(1, concurrency)
        self._inbox = inbox
        self._poll_interval_s = poll_interval_s
        self._running: set[asyncio.Task[None]] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.TimerHandle] = set()
        self.processed = 0

    # --- lifecycle -------------------------------------------------------------------------

    async def start(self, *, release_stale_claims: bool) -> None:
        if release_stale_claims:
            released = await self._repo.release_all()
            if released:
                log.info("released %d async events claimed before a restart", released)
        self._loops = [
            asyncio.create_task(self._dispatch_forever(), name="events-dispatch"),
            asyncio.create_task(self._claim_forever(), name="events-claim"),
        ]

    async def close(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for task in [*self._loops, *self._running]:
            task.cancel()
        for task in [*self._loops, *self._running]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Events still claimed by this node stay in the store; SQLite releases them at the
        # next start, PostgreSQL when their claims expire.

    # --- loops -----------------------------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        inbox = self._inbox
        while True:
            while inbox.ready and len(self._running) < self._concurrency:
                event = inbox.ready.popleft()
                task = asyncio.create_task(self._process_safely(event))
                self._running.add(task)
                inbox.in_flight = len(self._running)
                task.add_done_callback(self._done)
            inbox.dispatch_wake.clear()
            await inbox.dispatch_wake.wait()

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._inbox.in_flight = len(self._running)
        self.processed += 1
        self._inbox.dispatch_wake.set()
        if not self._inbox.ready:
            self._inbox.claim_wake.set()

    async def _claim_forever(self) -> None:
        inbox = self._inbox
        while True:
            room = inbox.room()
            claimed: list[AsyncEvent] = []
            if room > 0:
                try:
                    claimed = await self._repo.claim(
                        node=inbox.node_id,
                        now=self._clock.now(),
                        lease_s=inbox.lease_s,
                        limit=room,
                    )
                except Exception:
                    log.exception("claiming async events failed")
                inbox.add_claimed(claimed)
            if claimed and len(claimed) >= room:
                await asyncio.sleep(0)
                continue
            inbox.claim_wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(inbox.claim_wake.wait(), self._poll_interval_s)

    def _wake_at(self, at: float) -> None:
        loop = asyncio.get_running_loop()
        delay = max(0.0, at - self._clock.now())
        timer = loop.call_later(delay, self._inbox.claim_wake.set)
        self._timers.add(timer)
        loop.call_later(delay + 0.01, self._timers.discard, timer)

    # --- one event -------------------------------------------------------------------------

    async def _process_safely(self, event: AsyncEvent) -> None:
        try:
            await self.process(event)
        except asyncio.CancelledError:
            raise
        except Exception:
            # Leave the row claimed: the claim expires and the event is tried again.
            log.exception("processing async event %s failed", event.id)

    async def process(self, event: AsyncEvent) -> None:
        config = self._configs.effective(event.function, event.qualifier)
        last = Response.from_json(event.last_response) if event.last_response else None
        if policy.too_old(
            now=self._clock.now(),
            enqueued_at=event.enqueued_at,
            max_event_age_s=config.maximum_event_age_s,
        ):
            await self._discard(event, config, "EventAgeExceeded", last, event.invokes)
            return
        response: Response | None = None
        # What the records carry on: the trace header the attempt ran with (its lineage
        # counted this invocation), else the one the event came with.
        trace = event.trace_header
        kind: policy.OutcomeKind
        try:
            outcome = await self._invoker.invoke(
                InvokeCall(
                    function_name=event.function,
                    qualifier=event.qualifier,
                    payload=event.payload,
                    client_context=event.client_context,
                    request_id=event.id,
                    invocation_type="Event",
                    trace_header=event.trace_header,
                )
            )
            kind = "function_error" if outcome.function_error else "success"
            trace = outcome.trace_id or event.trace_header
            response = Response(
                executed_version=outcome.executed_version,
                function_error=outcome.function_error,
                payload=outcome.payload,
            )
        except TooManyRequestsError:
            kind = "throttle"
        except RecursiveInvocationError:
            # AWS: "For asynchronous invokes, Lambda sends the event to a dead-letter queue or
            # on-failure destination, if one is configured" — at once, without retries.
            await self._discard(event, config, RECURSION_DROPPED, last, event.invokes)
            return
        except ResourceNotFoundError as exc:
            # The function (or its alias/version) is gone, and its settings with it.
            log.warning("async event %s dropped: %s", event.id, exc.message)
            await self._commit.write(self._repo.delete(event.id))
            return
        except NimbusError as exc:
            log.info("async event %s: system error %s", event.id, exc.message)
            kind = "system_error"
        except Exception:
            log.exception("async event %s: system error", event.id)
            kind = "system_error"
        invokes = event.invokes + (1 if response is not None else 0)
        decision = policy.decide(
            policy.Attempt(
                outcome=kind,
                now=self._clock.now(),
                enqueued_at=event.enqueued_at,
                function_errors=event.function_errors,
                backoffs=event.backoffs,
                max_retry_attempts=config.maximum_retry_attempts,
                max_event_age_s=config.maximum_event_age_s,
                # Read after the attempt: a reservation set to 0 while the event waited counts.
                zero_reserved=self._reservations.reserved(event.function) == 0,
            ),
            self._retry,
        )
        if isinstance(decision, policy.Deliver):
            if config.on_success is not None:
                await self._destinations.send(
                    config.on_success,
                    self._record(event, "Success", response, invokes),
                    trace_header=trace,
                )
            await self._commit.write(self._repo.delete(event.id))
        elif isinstance(decision, policy.RetryAt):
            retry = dataclasses.replace(
                event,
                next_attempt_at=decision.at,
                function_errors=event.function_errors + (1 if decision.function_error else 0),
                backoffs=0 if decision.function_error else event.backoffs + 1,
                invokes=invokes,
                last_response=response.to_json() if response is not None else event.last_response,
            )
            await self._commit.write(self._repo.reschedule(retry))
            self._wake_at(decision.at)
        else:
            await self._discard(
                event, config, decision.condition, response or last, invokes, trace=trace
            )

    async def _discard(
        self,
        event: AsyncEvent,
        config: EffectiveEventConfig,
        condition: str,
        response: Response | None,
        invokes: int,
        *,
        trace: str | None = None,
    ) -> None:
        trace = trace or event.trace_header
        on_failure = config.on_failure
        if (
            on_failure is not None
            and condition == RECURSION_DROPPED
            and self._stopped_in(on_failure, trace)
        ):
            # The record of a stopped loop, sent to a function the chain already ran 16
            # times, would be stopped in turn and its record sent again, without end.
            log.warning(
                "async event %s: recursive loop stopped; its record is not sent to %s, which "
                "the loop already invoked %d times",
                event.id,
                on_failure,
                lineage.MAX_INVOCATIONS,
            )
            on_failure = None
        # AWS sends to the on-failure destination and to the dead-letter queue, when both
        # are configured ("in addition to or instead of a dead-letter queue").
        if on_failure is not None:
            await self._destinations.send(
                on_failure, self._record(event, condition, response, invokes), trace_header=trace
            )
        target = await self._dead_letter(event.function, event.qualifier)
        if target is not None:
            fallback = "Event age exceeded" if condition == "EventAgeExceeded" else condition
            await self._destinations.send(
                target,
                event.payload or b"{}",
                dead_letter_attributes(
                    request_id=event.id,
                    error_code=response.status_code if response is not None else 429,
                    error_message=error_message(response, fallback),
                ),
                trace_header=trace,
            )
        if on_failure is None and target is None:
            log.info("async event %s discarded (%s)", event.id, condition)
        await self._commit.write(self._repo.delete(event.id))

    def _stopped_in(self, destination: str, trace: str | None) -> bool:
        """Is ``destination`` a function this trace's loop already ran 16 times?"""
        if destination.split(":")[2:3] != ["lambda"]:
            return False
        try:
            ref = parse_function_ref(destination)
        except NimbusError:
            return False
        prior = lineage.prior_invocations(lineage.parse(trace), self._arns.function(ref.name))
        return lineage.is_loop_to_stop(prior)

    def _record(
        self, event: AsyncEvent, condition: str, response: Response | None, invokes: int
    ) -> bytes:
        return invocation_record(
            request_id=event.id,
            function_arn=self._arns.function(event.function, event.qualifier or LATEST),
            condition=condition,
            approximate_invoke_count=invokes,
            request_payload=event.payload,
            response=response,
            now=self._clock.now(),
        )
