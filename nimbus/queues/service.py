"""The built-in queue service (SQS-compatible standard queues).

Every message lives in the store; the service also keeps all of them in memory, per queue in
a heap ordered by when they become visible, so receiving reads no database. Each change is
written through group commit and the caller resumes only once it is durable: a SendMessage
that was answered survives kill -9. A node owns its queues' memory; queues are not shared
between cluster nodes yet.

Long polling waits on a per-queue ``asyncio.Event`` that a send sets, never holding a
database connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nimbus.clock import Clock
from nimbus.errors import (
    InvalidAttributeNameError,
    MessageNotInflightError,
    NimbusError,
    QueueDoesNotExistError,
    QueueNameExistsError,
    ReceiptHandleIsInvalidError,
    SqsInvalidParameterError,
)
from nimbus.queues import attributes as qattr
from nimbus.queues.model import (
    BatchFailure,
    MessageAttribute,
    ReceivedMessage,
    SendRequest,
    SentMessage,
)
from nimbus.store.group_commit import GroupCommit, Write
from nimbus.store.queues import MessageRow, QueueRepository, QueueRow

MAX_WAIT_S = 20


@dataclass(kw_only=True, eq=False)
class _Message:
    id: str
    seq: int
    body: str
    md5_of_body: str
    attributes: Mapping[str, MessageAttribute]
    md5_of_attributes: str | None
    sent_at: float
    visible_at: float
    receive_count: int = 0
    first_receive_at: float | None = None
    receipt: str = ""
    version: int = 0
    dead_letter_source: str | None = None


@dataclass(kw_only=True, eq=False)
class _Queue:
    name: str
    attributes: dict[str, str]
    tags: dict[str, str]
    created_at: float
    modified_at: float
    messages: dict[str, _Message] = field(default_factory=dict)
    # (visible_at, seq, id, version); stale entries are skipped when popped.
    heap: list[tuple[float, int, str, int]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def setting(self, name: str) -> int:
        return int(self.attributes.get(name, qattr.DEFAULTS[name]))

    def push(self, message: _Message) -> None:
        heapq.heappush(self.heap, (message.visible_at, message.seq, message.id, message.version))

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class QueueService:
    def __init__(
        self,
        *,
        repo: QueueRepository,
        commit: GroupCommit,
        clock: Clock,
        endpoint_url: str,
        region: str,
        account_id: str,
    ) -> None:
        self._repo = repo
        self._commit = commit
        self._clock = clock
        self._endpoint = endpoint_url.rstrip("/")
        self._region = region
        self._account = account_id
        self._queues: dict[str, _Queue] = {}
        self._seq = 0

    async def load(self) -> None:
        queue_rows, message_rows = await self._repo.load()
        for row in queue_rows:
            self._queues[row.name] = _Queue(
                name=row.name,
                attributes=row.attributes,
                tags=row.tags,
                created_at=row.created_at,
                modified_at=row.modified_at,
            )
        for mrow in message_rows:
            queue = self._queues.get(mrow.queue)
            if queue is None:
                continue
            message = _Message(
                id=mrow.id,
                seq=mrow.seq,
                body=mrow.body,
                md5_of_body=qattr.md5_of_body(mrow.body),
                attributes=mrow.attributes,
                md5_of_attributes=qattr.md5_of_attributes(mrow.attributes),
                sent_at=mrow.sent_at,
                visible_at=mrow.visible_at,
                receive_count=mrow.receive_count,
                first_receive_at=mrow.first_receive_at,
                dead_letter_source=mrow.dead_letter_source,
            )
            queue.messages[message.id] = message
            queue.push(message)
            self._seq = max(self._seq, mrow.seq)

    # --- names -----------------------------------------------------------------------------

    def url(self, name: str) -> str:
        return f"{self._endpoint}/{self._account}/{name}"

    def arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self._region}:{self._account}:{name}"

    def name_from_url(self, url: str) -> str:
        """The queue a QueueUrl names; the host part is not checked (clients reach this node
        under several names)."""
        parts = url.rstrip("/").split("/")
        if len(parts) < 2 or not parts[-1]:
            raise QueueDoesNotExistError("The specified queue does not exist.")
        return parts[-1]

    def name_from_arn(self, arn: str) -> str:
        parts = arn.split(":")
        if len(parts) != 6 or parts[2] != "sqs":
            raise QueueDoesNotExistError(f"The specified queue does not exist: {arn}")
        return parts[5]

    # --- queues ----------------------------------------------------------------------------

    async def create_queue(
        self, name: str, attributes: Mapping[str, str], tags: Mapping[str, str]
    ) -> str:
        if not name or len(name) > 80 or not all(c.isalnum() or c in "-_" for c in name):
            raise SqsInvalidParameterError(
                "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in "
                "length"
            )
        checked = qattr.validate(attributes)
        existing = self._queues.get(name)
        if existing is not None:
            if any(
                existing.attributes.get(k, qattr.DEFAULTS.get(k)) != v for k, v in checked.items()
            ):
                raise QueueNameExistsError(
                    "A queue already exists with the same name and a different value for "
                    "attribute(s)"
                )
            return self.url(name)
        now = self._clock.now()
        row = QueueRow(
            name=name, attributes=checked, tags=dict(tags), created_at=now, modified_at=now
        )
        await self._commit.write(self._repo.insert_queue(row))
        self._queues[name] = _Queue(
            name=name, attributes=checked, tags=dict(tags), created_at=now, modified_at=now
        )
        return self.url(name)

    def get_queue_url(self, name: str) -> str:
        self._queue(name)
        return self.url(name)

    def list_queues(
        self, prefix: str = "", *, max_results: int | None = None, next_token: str | None = None
    ) -> tuple[list[str], str | None]:
        names = sorted(n for n in self._queues if n.startswith(prefix))
        if next_token:
            names = [n for n in names if n > next_token]
        if max_results is not None and len(names) > max_results:
            page = names[:max_results]
            return [self.url(n) for n in page], page[-1]
        return [self.url(n) for n in names[:1000]], None

    async def delete_queue(self, name: str) -> None:
        queue = self._queue(name)
        del self._queues[name]
        queue.notify()
        await self._commit.write(*self._repo.delete_queue(name))

    async def purge(self, name: str) -> None:
        queue = self._queue(name)
        queue.messages.clear()
        queue.heap.clear()
        await self._commit.write(self._repo.purge(name))

    def get_attributes(self, name: str, names: Sequence[str]) -> dict[str, str]:
        queue = self._queue(name)
        wanted = set(names)
        if "All" in wanted:
            wanted = set(qattr.SETTABLE) | qattr.READ_ONLY
        unknown = wanted - set(qattr.SETTABLE) - qattr.READ_ONLY
        if unknown:
            raise InvalidAttributeNameError(f"Unknown Attribute {sorted(unknown)[0]}.")
        now = self._clock.now()
        visible = not_visible = delayed = 0
        for message in queue.messages.values():
            if message.visible_at <= now:
                visible += 1
            elif message.receive_count:
                not_visible += 1
            else:
                delayed += 1
        values = {**qattr.DEFAULTS, **queue.attributes}
        values.update(
            ApproximateNumberOfMessages=str(visible),
            ApproximateNumberOfMessagesNotVisible=str(not_visible),
            ApproximateNumberOfMessagesDelayed=str(delayed),
            CreatedTimestamp=str(int(queue.created_at)),
            LastModifiedTimestamp=str(int(queue.modified_at)),
            QueueArn=self.arn(name),
        )
        return {k: v for k, v in values.items() if k in wanted}

    async def set_attributes(self, name: str, attributes: Mapping[str, str]) -> None:
        queue = self._queue(name)
        checked = qattr.validate(attributes)
        merged = {**queue.attributes, **checked}
        merged = {k: v for k, v in merged.items() if v != "" or k not in ("RedrivePolicy",)}
        now = self._clock.now()
        await self._commit.write(self._repo.update_queue(name, merged, now))
        queue.attributes = merged
        queue.modified_at = now

    # --- messages --------------------------------------------------------------------------

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
                _Message(
                    id=str(uuid.uuid4()),
                    seq=self._seq,
                    body=request.body,
                    md5_of_body=qattr.md5_of_body(request.body),
                    attributes=request.attributes,
                    md5_of_attributes=qattr.md5_of_attributes(request.attributes),
                    sent_at=now,
                    visible_at=now + delay,
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
        self, arn: str, body: str, attributes: Mapping[str, MessageAttribute] | None = None
    ) -> str:
        sent = await self.send(
            self.name_from_arn(arn), [SendRequest(body=body, attributes=attributes or {})]
        )
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

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.get(name)
        if queue is None:
            raise QueueDoesNotExistError("The specified queue does not exist.")
        return queue

    def _insert(self, queue: str, message: _Message) -> Write:
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
            )
        )

    def _take(
        self, queue: _Queue, limit: int, visibility_timeout: int | None
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

    def _move(self, source: _Queue, message: _Message, target: str, now: float) -> Write | None:
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

    def _received(self, message: _Message) -> ReceivedMessage:
        system = {
            "SenderId": self._account,
            "SentTimestamp": str(int(message.sent_at * 1000)),
            "ApproximateReceiveCount": str(message.receive_count),
            "ApproximateFirstReceiveTimestamp": str(int((message.first_receive_at or 0) * 1000)),
        }
        if message.dead_letter_source is not None:
            system["DeadLetterQueueSourceArn"] = message.dead_letter_source
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

    def _inflight(self, queue: _Queue, receipt: str, now: float) -> _Message:
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
