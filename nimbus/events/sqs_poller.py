"""The SQS source of event source mappings: pollers that read a built-in queue and invoke the
mapping's function synchronously with batches of messages, as Lambda's SQS pollers do.

Each enabled mapping runs a ``MappingPoller``: a few poller tasks, each one

    collect  long-poll the queue (through the queue service, not HTTP) until the batch is
             full, its window has closed, or (no window) one receive returned something;
             messages the mapping's FilterCriteria refuses are deleted at once and never
             join a batch (Lambda's SQS filtering), so a batch they would have filled waits
             for more, and invokes nothing while empty
    invoke   the invoker, as every invocation (RequestResponse), with AWS's SQS event; the
             first message's AWSTraceHeader travels as the invoke's trace header (lineage)
    settle   success: delete the batch; function error: leave it (the queue hands it out
             again after its visibility timeout, and its redrive policy moves it to the
             dead-letter queue); ReportBatchItemFailures: delete all but the failed items;
             a recursive loop stopped (the 17th hop): leave it, like a function error;
             throttled or a system error: leave it and back off

The number of pollers follows AWS: five to start, one more while batches come back full
(a backlog), one fewer after an empty poll or a throttle, never more than
ScalingConfig.MaximumConcurrency. Disabling or deleting a mapping, or closing the node, lets
each poller finish the batch it is invoking and hands back the messages it was still
collecting; closing cancels what is still running after a grace period (its messages come
back after the visibility timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from nimbus.clock import Clock
from nimbus.dataplane.ports import InvokerPort
from nimbus.errors import (
    NimbusError,
    QueueDoesNotExistError,
    RecursiveInvocationError,
    ResourceNotFoundError,
    TooManyRequestsError,
)
from nimbus.events import mapping_rules as rules
from nimbus.events.record_filter import compile_filters, keeps_sqs_record
from nimbus.events.sqs_records import Item, event_payload, sqs_record, trace_header_of
from nimbus.events.stoppable import pause
from nimbus.model.event_source_mapping import EventSourceMapping
from nimbus.model.invoke import InvokeCall
from nimbus.model.queue import BatchFailure, ReceivedMessage

log = logging.getLogger(__name__)


class QueuePort(Protocol):
    """The queue service as the pollers use it (``queues.service.QueueService``)."""

    def name_from_arn(self, arn: str) -> str:
        """Raises QueueDoesNotExistError for an ARN that is not an SQS queue's."""

    def arn(self, name: str) -> str: ...

    def get_attributes(self, name: str, names: Sequence[str]) -> dict[str, str]:
        """Raises QueueDoesNotExistError."""

    async def receive(
        self,
        name: str,
        *,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_s: int | None = None,
    ) -> list[ReceivedMessage]: ...

    async def delete(self, name: str, receipts: Sequence[str]) -> list[BatchFailure | None]: ...

    async def change_visibility(
        self, name: str, entries: Sequence[tuple[str, int]]
    ) -> list[BatchFailure | None]: ...


# --- one mapping -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class PollerTuning:
    """Knobs the node sets (tests shorten them)."""

    default_ceiling: int = 1000  # pollers without MaximumConcurrency: the account's limit
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    # How long closing the node waits for batches being invoked to finish and be settled.
    close_grace_s: float = 10.0


class MappingPoller:
    def __init__(
        self,
        mapping: EventSourceMapping,
        *,
        queue: str,
        queues: QueuePort,
        invoker: InvokerPort,
        clock: Clock,
        region: str,
        tuning: PollerTuning,
    ) -> None:
        self.mapping = mapping
        self._queue = queue
        self._queues = queues
        self._invoker = invoker
        self._clock = clock
        self._region = region
        self._tuning = tuning
        self._bounds = rules.scale_bounds(
            mapping.settings.maximum_concurrency, tuning.default_ceiling
        )
        self._filter = compile_filters(mapping.settings.filter_patterns)
        self._stopping = asyncio.Event()
        self._workers: set[asyncio.Task[None]] = set()
        self._last_scale_up = clock.monotonic()
        self.invokes = 0
        self.filtered_out = 0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        for _ in range(self._bounds.floor):
            self._spawn()

    def stop(self) -> None:
        """Stop polling; batches being invoked finish and are settled."""
        self._stopping.set()

    async def close(self) -> None:
        self._stopping.set()
        for task in list(self._workers):
            task.cancel()
        for task in list(self._workers):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def stopped(self) -> None:
        """Wait until every poller has finished (after ``stop``)."""
        while self._workers:
            await asyncio.wait(set(self._workers))

    @property
    def pollers(self) -> int:
        return len(self._workers)

    def _spawn(self) -> None:
        task = asyncio.create_task(self._work(), name=f"esm-{self.mapping.uuid}")
        self._workers.add(task)
        task.add_done_callback(self._workers.discard)

    # --- the loop --------------------------------------------------------------------------

    async def _work(self) -> None:
        carry: list[Item] = []
        failures = 0
        while not self._stopping.is_set():
            try:
                batch = await self.collect(carry)
                outcome: rules.Outcome = "empty" if not batch else await self.deliver(batch)
            except QueueDoesNotExistError:
                log.warning(
                    "event source mapping %s: queue %s does not exist",
                    self.mapping.uuid,
                    self.mapping.source_arn,
                )
                outcome = "error"
            except Exception:
                log.exception("event source mapping %s: poll failed", self.mapping.uuid)
                outcome = "error"
            failures = failures + 1 if outcome in ("throttled", "error") else 0
            if self._retire(outcome):
                break
            if failures:
                delay = rules.backoff_s(
                    failures,
                    initial_s=self._tuning.backoff_initial_s,
                    max_s=self._tuning.backoff_max_s,
                )
                await pause(self._clock, delay, self._stopping)
        # Messages received beyond the last batch's payload limit go back to the queue.
        await self._release(carry)

    def _retire(self, outcome: rules.Outcome) -> bool:
        """Apply the scaling rule after one cycle; True when this poller should end."""
        now = self._clock.monotonic()
        target = rules.next_pollers(
            len(self._workers), outcome, self._bounds, now=now, last_scale_up=self._last_scale_up
        )
        if target > len(self._workers) and not self._stopping.is_set():
            self._last_scale_up = now
            self._spawn()
        return target < len(self._workers)

    # --- one batch -------------------------------------------------------------------------

    async def collect(self, carry: list[Item]) -> list[Item]:
        """Receive until the batch is ready; ``carry`` holds messages received beyond the
        payload limit, for the next batch. Empty when a long poll found nothing or the
        mapping is stopping (then what was collected is handed back to the queue)."""
        settings = self.mapping.settings
        batch: list[Item] = list(carry)
        carry.clear()
        size = sum(item.size for item in batch)
        opened_at = self._clock.monotonic() if batch else None
        while True:
            state = rules.BatchState(
                records=len(batch),
                size_bytes=size,
                opened_at=opened_at,
                now=self._clock.monotonic(),
            )
            if carry or rules.batch_ready(
                state, batch_size=settings.batch_size, window_s=settings.batching_window_s
            ):
                return batch
            wanted, wait = rules.next_receive(
                state, batch_size=settings.batch_size, window_s=settings.batching_window_s
            )
            received = await self._receive(wanted, wait)
            if self._stopping.is_set():
                await self._release([*batch, *received])
                return []
            if not received and not batch:
                return []
            refused: list[ReceivedMessage] = []
            for message in received:
                document = sqs_record(
                    message, source_arn=self.mapping.source_arn, region=self._region
                )
                if not keeps_sqs_record(self._filter, document):
                    refused.append(message)
                    continue
                item = Item(message=message, record=orjson.dumps(document))
                if carry or not rules.fits(size, item.size, len(batch)):
                    carry.append(item)
                    continue
                batch.append(item)
                size += item.size
            if refused:
                await self._discard(refused)
            if opened_at is None and batch:
                opened_at = self._clock.monotonic()

    async def _receive(self, wanted: int, wait: int) -> list[ReceivedMessage]:
        receive = asyncio.ensure_future(
            self._queues.receive(self._queue, max_messages=wanted, wait_s=wait)
        )
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({receive, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not receive.done():
                receive.cancel()
                # Let the cancellation land: a receive cut short returns nothing (what it had
                # taken comes back after the visibility timeout).
                with contextlib.suppress(asyncio.CancelledError):
                    await receive
        if receive.cancelled():
            return []
        return receive.result()

    async def deliver(self, batch: Sequence[Item]) -> rules.Outcome:
        """Invoke the function with one batch and settle its messages."""
        settings = self.mapping.settings
        call = InvokeCall(
            function_name=settings.function_name,
            qualifier=settings.qualifier,
            payload=event_payload(batch),
            trace_header=trace_header_of(batch[0].message),
        )
        try:
            outcome = await self._invoker.invoke(call)
        except TooManyRequestsError:
            return "throttled"
        except RecursiveInvocationError as exc:
            # A stopped loop (the message's AWSTraceHeader says the function already ran 16
            # times for it): the batch stays in the queue, as after a function error, so its
            # redrive policy moves it to the dead-letter queue; the other batches go on.
            log.info("event source mapping %s: %s", self.mapping.uuid, exc.message)
            return "partial"
        except ResourceNotFoundError as exc:
            log.warning("event source mapping %s: %s", self.mapping.uuid, exc.message)
            return "error"
        except NimbusError as exc:
            log.info("event source mapping %s: invoke failed: %s", self.mapping.uuid, exc.message)
            return "error"
        self.invokes += 1
        ids = [item.message.message_id for item in batch]
        if outcome.function_error is not None:
            done: list[Item] = []
        elif settings.reports_item_failures:
            failed = rules.failed_items(outcome.payload, ids)
            done = (
                []
                if failed is rules.ALL_FAILED
                else [item for item in batch if item.message.message_id not in failed]
            )
        else:
            done = list(batch)
        if done:
            await self._queues.delete(self._queue, [item.message.receipt_handle for item in done])
        full = len(batch) >= settings.batch_size
        return "full" if full else "partial"

    async def _discard(self, messages: Sequence[ReceivedMessage]) -> None:
        """Delete messages no filter admits: Lambda removes them from the queue rather than
        leave them to be received (and refused) again until they expire."""
        self.filtered_out += len(messages)
        try:
            await self._queues.delete(self._queue, [m.receipt_handle for m in messages])
        except NimbusError as exc:  # they come back after the visibility timeout, refused again
            log.warning("event source mapping %s: %s", self.mapping.uuid, exc.message)

    async def _release(self, items: Sequence[Item | ReceivedMessage]) -> None:
        """Hand messages this poller holds but will not invoke with back to the queue now
        rather than after their visibility timeout."""
        receipts = [
            (item.message if isinstance(item, Item) else item).receipt_handle for item in items
        ]
        if receipts:
            with contextlib.suppress(NimbusError):
                await self._queues.change_visibility(self._queue, [(r, 0) for r in receipts])
