"""The built-in queue service (SQS-compatible standard queues), part one: the queues and
their in-memory state; ``service.py`` adds the message operations.

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
import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from nimbus.clock import Clock
from nimbus.errors import (
    InvalidAttributeNameError,
    QueueDoesNotExistError,
    QueueNameExistsError,
    SqsInvalidParameterError,
)
from nimbus.model.queue import (
    MessageAttribute,
)
from nimbus.queues import attributes as qattr
from nimbus.store.group_commit import GroupCommit
from nimbus.store.queues import QueueRepository, QueueRow


def queue_name_from_arn(arn: str) -> str:
    """The queue an SQS queue ARN names; QueueDoesNotExistError for any other ARN."""
    parts = arn.split(":")
    if len(parts) != 6 or parts[2] != "sqs":
        raise QueueDoesNotExistError(f"The specified queue does not exist: {arn}")
    return parts[5]


@dataclass(kw_only=True, eq=False)
class StoredMessage:
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
    trace_header: str | None = None  # AWSTraceHeader


@dataclass(kw_only=True, eq=False)
class QueueState:
    name: str
    attributes: dict[str, str]
    tags: dict[str, str]
    created_at: float
    modified_at: float
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    # (visible_at, seq, id, version); stale entries are skipped when popped.
    heap: list[tuple[float, int, str, int]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def setting(self, name: str) -> int:
        return int(self.attributes.get(name, qattr.DEFAULTS[name]))

    def push(self, message: StoredMessage) -> None:
        heapq.heappush(self.heap, (message.visible_at, message.seq, message.id, message.version))

    def notify(self) -> None:
        self.changed.set()
        self.changed = asyncio.Event()


class QueueRegistry:
    """The queues themselves: names, URLs, ARNs, attributes; loads the store at start."""

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
        self._queues: dict[str, QueueState] = {}
        self._seq = 0

    async def load(self) -> None:
        queue_rows, message_rows = await self._repo.load()
        for row in queue_rows:
            self._queues[row.name] = QueueState(
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
            message = StoredMessage(
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
                trace_header=mrow.trace_header,
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
        return queue_name_from_arn(arn)

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
        self._queues[name] = QueueState(
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

    def _queue(self, name: str) -> QueueState:
        queue = self._queues.get(name)
        if queue is None:
            raise QueueDoesNotExistError("The specified queue does not exist.")
        return queue
