"""The built-in queue service (SQS-compatible standard queues), part two: the message
operations. How messages are kept (in the store, and indexed in memory per queue) and how
long polling waits is described in ``registry.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import secrets
import uuid
from collections.abc import Mapping, Sequence

from nimbus.errors import (
    MessageNotInflightError,
    NimbusError,
    ReceiptHandleIsInvalidError,
    SqsInvalidParameterError,
)
from nimbus.model.queue import (
    BatchFailure,
    MessageAttribute,
    ReceivedMessage,
    SendRequest,
    SentMessage,
)
from nimbus.queues import attributes as qattr
from nimbus.queues.registry import QueueRegistry, QueueState, StoredMessage
from nimbus.store.group_commit import Write
from nimbus.store.queues import MessageRow

MAX_WAIT_S = 20


class QueueService(QueueRegistry):
    """Message operations over the registry's in-memory state, written through group commit."""

    async def send(self, name: str, requests: Sequence[SendRequest]) -> list[SentMessage]:
        """Send messages in one durable write; returns once they are committed."""
        queue = self._queue(name)
        limit = queue.setting("MaximumMessageSize")
        for request in requests:
            if len(request.body.encode()) > limit:
                raise SqsInvalidParameterError(
                    f"One or more parameters are invalid. Reason: Message must be shorter than "
                    f"{limit} bytes."
                )
            if request.delay_s is not None and not 0 <= request.delay_s <= 900:
                raise SqsInvalidParameterError(
                    "Value for parameter DelaySeconds is invalid. Reason: must be between 0 "
                    "and 900."
                )
        now = self._clock.now()
        messages = []
        for request in requests:
            self._seq += 1
            delay = queue.setting("DelaySeconds") if request.delay_s is None else request.delay_s
            messages.append(
                StoredMessage(
                    id=str(uuid.uuid4()),
                    seq=self._seq,
                    body=request.body,
                    md5_of_body=qattr.md5_of_body(request.body),
                    attributes=request.attributes,
                    md5_of_attributes=qattr.md5_of_attributes(request.attributes),
                    sent_at=now,
                    visible_at=now + delay,
                    trace_header=request.trace_header,
                )
            )
        await self._commit.write(*(self._insert(name, message) for message in messages))
        # Visible only once durable: nobody can receive a message that a crash could lose.
        if self._queues.get(name) is queue:
            for message in messages:
                queue.messages[message.id] = message
                queue.push(message)
            queue.notify()
        return [
            SentMessage(
                message_id=m.id, md5_of_body=m.md5_of_body, md5_of_attributes=m.md5_of_attributes
            )
            for m in messages
        ]

    async def send_to_arn(
        self,
        arn: str,
        body: str,
        attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        trace_header: str | None = None,
    ) -> str:
        """Send one message to the queue an ARN names (destinations, DLQs, topics); the
        trace header becomes its AWSTraceHeader, so a loop through the queue is counted."""
        request = SendRequest(body=body, attributes=attributes or {}, trace_header=trace_header)
        sent = await self.send(self.name_from_arn(arn), [request])
        return sent[0].message_id

    async def receive(
        self,
        name: str,
        *,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_s: int | None = None,
    ) -> list[ReceivedMessage]:
        queue = self._queue(name)
        if not 1 <= max_messages <= 10:
            raise SqsInvalidParameterError(
                "Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 "
                "and 10, if provided."
            )
        if wait_s is not None and not 0 <= wait_s <= MAX_WAIT_S:
            raise SqsInvalidParameterError(
                "Value for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20."
            )
        if visibility_timeout is not None and not 0 <= visibility_timeout <= 43_200:
            raise SqsInvalidParameterError(
                "Value for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and "
                "<= 43200."
            )
        wait = queue.setting("ReceiveMessageWaitTimeSeconds") if wait_s is None else wait_s
        deadline = self._clock.monotonic() + wait
        while True:
            taken, writes = self._take(queue, max_messages, visibility_timeout)
            if writes:
                await self._commit.write(*writes)
            if taken or self._queues.get(name) is not queue:
                return taken
            remaining = deadline - self._clock.monotonic()
            if remaining <= 0:
                return []
            if queue.heap:
                remaining = min(remaining, max(0.001, queue.heap[0][0] - self._clock.now()))
            changed = queue.changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout=remaining)

    async def delete(self, name: str, receipts: Sequence[str]) -> list[BatchFailure | None]:
        queue = self._queue(name)
        results: list[BatchFailure | None] = []
        writes: list[Write] = []
        for receipt in receipts:
            message_id = self._message_id(receipt)
            if message_id is None:
                results.append(
                    _failure(
                        ReceiptHandleIsInvalidError(
                            f'The input receipt handle "{receipt}" is not a valid receipt handle.'
                        )
                    )
                )
                continue
            # A standard queue deletes with any receipt handle the message was received with,
            # and deleting a message that is already gone succeeds.
            if queue.messages.pop(message_id, None) is not None:
                writes.append(self._repo.delete_message(message_id))
            results.append(None)
        await self._commit.write(*writes)
        return results

    async def change_visibility(
        self, name: str, entries: Sequence[tuple[str, int]]
    ) -> list[BatchFailure | None]:
        queue = self._queue(name)
        now = self._clock.now()
        results: list[BatchFailure | None] = []
        writes: list[Write] = []
        for receipt, timeout in entries:
            try:
                message = self._inflight(queue, receipt, now)
                if not 0 <= timeout <= 43_200:
                    raise SqsInvalidParameterError(
                        "Value for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 "
                        "and <= 43200."
                    )
            except NimbusError as exc:
                results.append(_failure(exc))
                continue
            message.visible_at = now + timeout
            message.version += 1
            queue.push(message)
            writes.append(self._repo.visibility(message.id, message.visible_at))
            results.append(None)
        await self._commit.write(*writes)
        if writes:
            queue.notify()
        return results

    # --- internals -------------------------------------------------------------------------

    def _insert(self, queue: str, message: StoredMessage) -> Write:
        return self._repo.insert_message(
            MessageRow(
                id=message.id,
                queue=queue,
                seq=message.seq,
                body=message.body,
                attributes=dict(message.attributes),
                dead_letter_source=message.dead_letter_source,
                sent_at=message.sent_at,
                visible_at=message.visible_at,
                receive_count=message.receive_count,
                first_receive_at=message.first_receive_at,
                trace_header=message.trace_header,
            )
        )

    def _take(
        self, queue: QueueState, limit: int, visibility_timeout: int | None
    ) -> tuple[list[ReceivedMessage], list[Write]]:
        now = self._clock.now()
        timeout = (
            queue.setting("VisibilityTimeout") if visibility_timeout is None else visibility_timeout
        )
        retention = queue.setting("MessageRetentionPeriod")
        redrive = queue.attributes.get("RedrivePolicy")
        dead_letter, max_receives = qattr.redrive_policy(redrive) if redrive else (None, 0)
        taken: list[ReceivedMessage] = []
        writes: list[Write] = []
        while len(taken) < limit and queue.heap and queue.heap[0][0] <= now:
            _at, _seq, message_id, version = heapq.heappop(queue.heap)
            message = queue.messages.get(message_id)
            if message is None or message.version != version:
                continue
            if now - message.sent_at > retention:
                del queue.messages[message_id]
                writes.append(self._repo.delete_message(message_id))
                continue
            if dead_letter is not None and message.receive_count >= max_receives:
                moved = self._move(queue, message, self.name_from_arn(dead_letter), now)
                if moved is not None:
                    writes.append(moved)
                    continue
            message.receive_count += 1
            if message.first_receive_at is None:
                message.first_receive_at = now
            message.visible_at = now + timeout
            message.version += 1
            message.receipt = f"{message.id}#{secrets.token_hex(12)}"
            queue.push(message)
            writes.append(
                self._repo.received(
                    message.id,
                    visible_at=message.visible_at,
                    receive_count=message.receive_count,
                    first_receive_at=message.first_receive_at,
                )
            )
            taken.append(self._received(message))
        return taken, writes

    def _move(
        self, source: QueueState, message: StoredMessage, target: str, now: float
    ) -> Write | None:
        """Redrive: the message leaves ``source`` for its dead-letter queue (same id)."""
        dlq = self._queues.get(target)
        if dlq is None:
            return None  # no such dead-letter queue (any more): SQS keeps the message
        del source.messages[message.id]
        self._seq += 1
        message.seq = self._seq
        message.visible_at = now
        message.version += 1
        message.dead_letter_source = self.arn(source.name)
        dlq.messages[message.id] = message
        dlq.push(message)
        dlq.notify()
        return self._repo.move(
            message.id,
            queue=target,
            seq=message.seq,
            visible_at=now,
            attributes=message.attributes,
            dead_letter_source=message.dead_letter_source,
        )

    def _received(self, message: StoredMessage) -> ReceivedMessage:
        system = {
            "SenderId": self._account,
            "SentTimestamp": str(int(message.sent_at * 1000)),
            "ApproximateReceiveCount": str(message.receive_count),
            "ApproximateFirstReceiveTimestamp": str(int((message.first_receive_at or 0) * 1000)),
        }
        if message.dead_letter_source is not None:
            system["DeadLetterQueueSourceArn"] = message.dead_letter_source
        if message.trace_header is not None:
            system["AWSTraceHeader"] = message.trace_header
        return ReceivedMessage(
            message_id=message.id,
            receipt_handle=message.receipt,
            body=message.body,
            md5_of_body=message.md5_of_body,
            system_attributes=system,
            attributes=message.attributes,
            md5_of_attributes=message.md5_of_attributes,
        )

    @staticmethod
    def _message_id(receipt: str) -> str | None:
        message_id, sep, token = receipt.partition("#")
        return message_id if sep and token and len(message_id) == 36 else None

    def _inflight(self, queue: QueueState, receipt: str, now: float) -> StoredMessage:
        message_id = self._message_id(receipt)
        if message_id is None:
            raise ReceiptHandleIsInvalidError(
                f'The input receipt handle "{receipt}" is not a valid receipt handle.'
            )
        message = queue.messages.get(message_id)
        if message is None or message.visible_at <= now or message.receipt != receipt:
            raise MessageNotInflightError(
                "Value for parameter ReceiptHandle is invalid. Reason: Message does not exist "
                "or is not available for visibility timeout change."
            )
        return message


def _failure(error: NimbusError) -> BatchFailure:
    code = getattr(error, "error_type", "InternalError")
    return BatchFailure(code=code, message=error.message)
