"""The consumer of one RabbitMQ event source mapping: it invokes the mapping's function
synchronously with batches of messages, as Lambda's pollers for Amazon MQ for RabbitMQ do.

The thin shell around ``rabbitmq_rules``, ``rabbitmq_status`` and ``rabbitmq_records``:

    connect  aio-pika (``rabbitmq_connection``), with the broker's address and the secret's
             credentials (``rabbitmq_brokers``); a prefetch of one batch; the queue must exist
    collect  deliveries until BatchSize, the batching window (500 ms by default, counted from
             the batch's first message) or the 6 MB payload, whichever comes first; messages
             the mapping's FilterCriteria refuse are acknowledged and dropped, and so is one
             that cannot be turned into a record (reported in LastProcessingResult): put
             back, it would fail again on every delivery
    invoke   the invoker, as every invocation (RequestResponse), with AWS's ``aws:rmq`` event
    settle   success: ack the batch; function error, throttle or any failed invoke: nack it
             with requeue (the broker delivers it again, ``redelivered: true``) and pause,
             doubling, before the next batch

Concurrency is AWS's for RabbitMQ: one execution environment per mapping, so one consumer
and one batch in flight. A broker that cannot be reached, refuses the credentials or lacks
the queue puts the mapping in AWS's error state (``rabbitmq_status``) and the consumer tries
again with back-off until it works, so the mapping recovers by itself. Stopping lets the
batch being invoked finish and be settled; what the consumer held unacknowledged goes back
to the queue when its channel closes. Closing the node stops, waits up to ``close_grace_s``
for that, and only then cancels, so a graceful restart delivers no acked batch twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import aiormq
import orjson
from aiormq.abc import AbstractChannel, DeliveredMessage

from nimbus.clock import Clock
from nimbus.dataplane.ports import InvokerPort
from nimbus.errors import (
    NimbusError,
    ResourceNotFoundError,
    TooManyRequestsError,
)
from nimbus.events import rabbitmq_records as records
from nimbus.events import rabbitmq_rules as rules
from nimbus.events import rabbitmq_status as status
from nimbus.events.mapping_rules import PAYLOAD_LIMIT, fits
from nimbus.events.rabbitmq_brokers import BrokerDirectory, SourceFailure
from nimbus.events.rabbitmq_connection import connect, delivery_of, find_queue
from nimbus.events.rabbitmq_records import Delivery, UnrecordableMessage
from nimbus.events.rabbitmq_status import Failure, Problem
from nimbus.events.record_filter import compile_filters
from nimbus.events.stoppable import pause
from nimbus.model.event_source_mapping import EventSourceMapping
from nimbus.model.invoke import InvokeCall

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ConsumerTuning:
    """Knobs the node sets (tests shorten them)."""

    retry: status.RetryPolicy = field(default_factory=status.RetryPolicy)
    invoke_backoff: status.RetryPolicy = field(
        default_factory=lambda: status.RetryPolicy(initial_s=1.0, max_s=60.0)
    )
    connect_timeout_s: float = 10.0
    # How long closing the node waits for the batch being invoked to finish and be acked.
    close_grace_s: float = 10.0


@dataclass(frozen=True, kw_only=True)
class Item:
    delivery: Delivery
    record: bytes  # serialised once

    @property
    def size(self) -> int:
        return len(self.record) + 1  # and its comma


class RabbitConsumer:
    def __init__(
        self,
        mapping: EventSourceMapping,
        *,
        broker: rules.Broker,
        directory: BrokerDirectory,
        invoker: InvokerPort,
        clock: Clock,
        tuning: ConsumerTuning,
    ) -> None:
        self.mapping = mapping
        settings = mapping.settings
        self._broker = broker
        self._directory = directory
        self._invoker = invoker
        self._clock = clock
        self._tuning = tuning
        self._queue = settings.queues[0] if settings.queues else ""
        self._vhost = rules.virtual_host(settings)
        self._secret = rules.basic_auth_secret(settings)
        self._window_s = rules.window_s(settings)
        self._filter = compile_filters(settings.filter_patterns)
        self._envelope = records.envelope_size(
            broker_arn=broker.arn, queue=self._queue, vhost=self._vhost
        )
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.state = status.ConsumerState()
        self.invokes = 0

    # --- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"esm-rmq-{self.mapping.uuid}")

    def stop(self) -> None:
        """Stop consuming; a batch being invoked finishes and is settled."""
        self._stopping.set()

    async def stopped(self) -> None:
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(self._task)

    async def close(self) -> None:
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    def _set(self, state: status.ConsumerState) -> None:
        if state.last_result != self.state.last_result and state.problem is not None:
            log.warning("event source mapping %s: %s", self.mapping.uuid, state.last_result)
        self.state = state

    async def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self._session()
            except SourceFailure as exc:
                self._set(status.failed(self.state, exc.failure, self._tuning.retry))
            except Exception as exc:  # a library's surprise must not end the consumer
                log.exception("event source mapping %s: consumer failed", self.mapping.uuid)
                failure = Failure(
                    problem=Problem.CONNECTION,
                    detail=f"Nimbus's consumer failed ({type(exc).__name__}); it will retry.",
                )
                self._set(status.failed(self.state, failure, self._tuning.retry))
            if self._stopping.is_set():
                break
            await pause(self._clock, self.state.retry_in_s, self._stopping)
            self.state = status.retrying(self.state)
        self.state = status.stopped(self.state)

    # --- one connection --------------------------------------------------------------------

    async def _session(self) -> None:
        endpoint = self._directory.endpoint(self._broker.name, self._secret, self._vhost)
        connection = await connect(
            endpoint,
            broker=self._broker.name,
            secret=self._secret,
            timeout_s=self._tuning.connect_timeout_s,
            name=f"nimbus esm {self.mapping.uuid}",
        )
        ended = asyncio.Event()
        lost: list[Failure] = []

        def lose(what: str) -> None:
            if not lost:
                lost.append(Failure(problem=Problem.CONNECTION, detail=what))
            ended.set()

        where = f"broker '{self._broker.name}' at {endpoint.address.display()}"
        connection.close_callbacks.add(lambda *_: lose(f"The connection to {where} was lost."))
        try:
            channel = await connection.channel(publisher_confirms=False)
            channel.close_callbacks.add(lambda *_: lose(f"The channel to {where} was closed."))
            raw = await channel.get_underlay_channel()
            await raw.basic_qos(prefetch_count=rules.prefetch(self.mapping.settings.batch_size))
            await find_queue(raw, self._queue, vhost=self._vhost, broker=self._broker.name)
            inbox: asyncio.Queue[DeliveredMessage] = asyncio.Queue()

            async def on_message(message: DeliveredMessage) -> None:
                inbox.put_nowait(message)

            raw.on_consumer_cancel_callbacks.add(
                lambda _frame: lose(
                    f"The broker cancelled the consumer of queue '{self._queue}' (was the queue "
                    "deleted?)."
                )
            )
            await raw.basic_consume(self._queue, on_message, no_ack=False)
            self._set(status.connected(self.state))
            await self._consume(raw, inbox, ended)
            if lost and not self._stopping.is_set():
                raise SourceFailure(lost[0])
        except aiormq.exceptions.AMQPError as exc:
            if self._stopping.is_set():
                return
            raise SourceFailure(
                Failure(
                    problem=Problem.CONNECTION,
                    detail=endpoint.scrub(f"The {where} failed: {type(exc).__name__}: {exc}."),
                )
            ) from None
        finally:
            with contextlib.suppress(Exception):
                await connection.close()

    # --- batches ---------------------------------------------------------------------------

    async def _consume(
        self,
        raw: AbstractChannel,
        inbox: asyncio.Queue[DeliveredMessage],
        ended: asyncio.Event,
    ) -> None:
        carry: list[Item] = []
        while not self._stopping.is_set() and not ended.is_set():
            batch = await self._collect(raw, inbox, carry, ended)
            if batch:
                await self._deliver(raw, batch)

    async def _collect(
        self,
        raw: AbstractChannel,
        inbox: asyncio.Queue[DeliveredMessage],
        carry: list[Item],
        ended: asyncio.Event,
    ) -> list[Item]:
        """Deliveries until the batch is ready; ``carry`` holds those past the payload
        limit, for the next batch. Empty when the consumer stops or loses its channel (what
        it held goes back to the queue with the channel)."""
        settings = self.mapping.settings
        pending, batch = list(carry), list[Item]()
        carry.clear()
        size, opened_at = self._envelope, None
        while True:
            progress = rules.Progress(
                records=len(batch),
                size_bytes=size,
                opened_at=opened_at,
                now=self._clock.monotonic(),
            )
            if carry or rules.batch_ready(
                progress, batch_size=settings.batch_size, window_s=self._window_s
            ):
                return batch
            if pending:
                item = pending.pop(0)
            else:
                message = await self._next(
                    inbox, rules.wait_for_next(progress, window_s=self._window_s), ended
                )
                if message is None:
                    if self._stopping.is_set() or ended.is_set():
                        return []
                    continue
                taken = await self._take(raw, message)
                if taken is None:
                    continue
                item = taken
            if not fits(size, item.size, len(batch)):
                carry.append(item)
                continue
            batch.append(item)
            size += item.size
            if opened_at is None:
                opened_at = self._clock.monotonic()

    async def _take(self, raw: AbstractChannel, message: DeliveredMessage) -> Item | None:
        """The delivery as a batch item, or None when it was acked and dropped: refused by
        the filters, too large, or not something Nimbus can turn into a record. The last is
        a poison message: nacked or left unacked it would come back, fail the same way and
        end the consumer's session every time; so it is dropped and reported, and the
        consumer goes on with the next message."""
        try:
            item = _item(message)
            keep = self._keeps(item)
        except UnrecordableMessage as exc:
            await self._drop(raw, message, str(exc))
            return None
        except Exception as exc:  # a bug here must not turn a message into a poison loop
            log.exception("event source mapping %s: reading a message failed", self.mapping.uuid)
            await self._drop(raw, message, f"{type(exc).__name__} while reading it")
            return None
        if not keep:
            await raw.basic_ack(item.delivery.delivery_tag)
            return None
        return item

    def _keeps(self, item: Item) -> bool:
        """Should the message join a batch? Those the filters refuse are dropped, as AWS
        discards them; one too large for any payload is dropped too ("Records also go
        unprocessed if Lambda drops them due to their size")."""
        if self._envelope + item.size > PAYLOAD_LIMIT:
            log.warning(
                "event source mapping %s: dropped a %d-byte message over the 6 MB payload limit",
                self.mapping.uuid,
                len(item.delivery.body),
            )
            return False
        return self._filter.admits(records.filter_view(item.delivery))

    async def _drop(self, raw: AbstractChannel, message: DeliveredMessage, reason: str) -> None:
        log.warning(
            "event source mapping %s: dropped message %s of queue '%s': %s",
            self.mapping.uuid,
            message.delivery_tag,
            self._queue,
            reason,
        )
        self._set(status.dropped(self.state, reason))
        await raw.basic_ack(message.delivery_tag or 0)

    async def _next(
        self,
        inbox: asyncio.Queue[DeliveredMessage],
        timeout: float | None,
        ended: asyncio.Event,
    ) -> DeliveredMessage | None:
        """The next delivery, or None when ``timeout`` passes or the consumer stops."""
        if not inbox.empty():
            return inbox.get_nowait()
        get = asyncio.ensure_future(inbox.get())
        others: set[asyncio.Future[Any]] = {
            asyncio.ensure_future(self._stopping.wait()),
            asyncio.ensure_future(ended.wait()),
        }
        if timeout is not None:
            others.add(asyncio.ensure_future(self._clock.sleep(timeout)))
        try:
            await asyncio.wait({get, *others}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in others:
                waiter.cancel()
        if get.done():
            return get.result()
        get.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await get
        return None

    async def _deliver(self, raw: AbstractChannel, batch: Sequence[Item]) -> None:
        """Invoke with one batch, then ack it (success) or nack it with requeue."""
        settings = self.mapping.settings
        payload = records.event_payload(
            broker_arn=self._broker.arn,
            queue=self._queue,
            vhost=self._vhost,
            records=[item.record for item in batch],
        )
        call = InvokeCall(
            function_name=settings.function_name, qualifier=settings.qualifier, payload=payload
        )
        outcome: status.BatchOutcome = "ok"
        detail = ""
        try:
            result = await self._invoker.invoke(call)
            if result.function_error is not None:
                outcome = "function_error"
        except TooManyRequestsError:
            outcome = "throttled"
        except ResourceNotFoundError as exc:
            outcome, detail = "function_missing", exc.message
        except NimbusError as exc:
            outcome, detail = "error", exc.message
        self.invokes += 1
        last = batch[-1].delivery.delivery_tag
        try:
            if outcome == "ok":
                await raw.basic_ack(last, multiple=True)
            else:
                await raw.basic_nack(last, multiple=True, requeue=True)
        except (aiormq.exceptions.AMQPError, RuntimeError):
            # The channel went away during the invoke: the broker has put the batch back
            # already, so it is delivered again (at least once, as on AWS).
            raise SourceFailure(
                Failure(
                    problem=Problem.CONNECTION,
                    detail=f"The channel to broker '{self._broker.name}' closed before the "
                    "batch was settled; it will be delivered again.",
                )
            ) from None
        self._set(status.processed(self.state, outcome, self._tuning.invoke_backoff, detail=detail))
        if outcome != "ok":
            await pause(self._clock, self.state.retry_in_s, self._stopping)


def _item(message: DeliveredMessage) -> Item:
    """Raises UnrecordableMessage (or, for a surprise, anything else)."""
    delivery = delivery_of(message)
    return Item(delivery=delivery, record=orjson.dumps(records.message_record(delivery)))
