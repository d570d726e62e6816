"""Built-in queues and their messages in the SQL store.

The queue service keeps an in-memory index of every message (loaded here at start) and writes
each change through ``GroupCommit``; these are those writes.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.queue import MessageAttribute
from nimbus.store.group_commit import Write
from nimbus.store.schema import sqs_messages as m
from nimbus.store.schema import sqs_queues as q

_INSERT_MESSAGE = m.insert()
_DELETE_MESSAGE = m.delete().where(m.c.id == sa.bindparam("p_id"))
_RECEIVED = (
    m.update()
    .where(m.c.id == sa.bindparam("p_id"))
    .values(
        visible_at=sa.bindparam("p_visible_at"),
        receive_count=sa.bindparam("p_count"),
        first_receive_at=sa.bindparam("p_first"),
    )
)
_VISIBILITY = (
    m.update().where(m.c.id == sa.bindparam("p_id")).values(visible_at=sa.bindparam("p_at"))
)
_MOVE = (
    m.update()
    .where(m.c.id == sa.bindparam("p_id"))
    .values(
        queue=sa.bindparam("p_queue"),
        seq=sa.bindparam("p_seq"),
        visible_at=sa.bindparam("p_at"),
        attributes=sa.bindparam("p_attributes"),
    )
)
_PURGE = m.delete().where(m.c.queue == sa.bindparam("p_queue"))
_INSERT_QUEUE = q.insert()
_UPDATE_QUEUE = (
    q.update()
    .where(q.c.name == sa.bindparam("p_name"))
    .values(attributes=sa.bindparam("p_attributes"), modified_at=sa.bindparam("p_at"))
)
_DELETE_QUEUE = q.delete().where(q.c.name == sa.bindparam("p_name"))


@dataclass(frozen=True, kw_only=True)
class QueueRow:
    name: str
    attributes: dict[str, str]
    tags: dict[str, str]
    created_at: float
    modified_at: float


@dataclass(frozen=True, kw_only=True)
class MessageRow:
    id: str
    queue: str
    seq: int
    body: str
    attributes: dict[str, MessageAttribute]
    dead_letter_source: str | None
    sent_at: float
    visible_at: float
    receive_count: int
    first_receive_at: float | None
    trace_header: str | None = None  # the AWSTraceHeader system attribute


def encode_attributes(
    attributes: Mapping[str, MessageAttribute], dead_letter_source: str | None
) -> str:
    doc: dict[str, Any] = {
        name: [
            a.data_type,
            a.string_value,
            None if a.binary_value is None else base64.b64encode(a.binary_value).decode(),
        ]
        for name, a in attributes.items()
    }
    if dead_letter_source is not None:
        return orjson.dumps({"m": doc, "dlq_source": dead_letter_source}).decode()
    return orjson.dumps({"m": doc}).decode() if doc else "{}"


def decode_attributes(text: str) -> tuple[dict[str, MessageAttribute], str | None]:
    doc = orjson.loads(text)
    attributes = {
        name: MessageAttribute(
            data_type=value[0],
            string_value=value[1],
            binary_value=None if value[2] is None else base64.b64decode(value[2]),
        )
        for name, value in doc.get("m", {}).items()
    }
    return attributes, doc.get("dlq_source")


class QueueRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> tuple[list[QueueRow], list[MessageRow]]:
        async with self._engine.connect() as conn:
            queues = (await conn.execute(sa.select(q))).all()
            messages = (await conn.execute(sa.select(m).order_by(m.c.seq))).all()
        queue_rows = [
            QueueRow(
                name=row.name,
                attributes=orjson.loads(row.attributes),
                tags=orjson.loads(row.tags),
                created_at=row.created_at,
                modified_at=row.modified_at,
            )
            for row in queues
        ]
        message_rows = []
        for row in messages:
            attributes, source = decode_attributes(row.attributes)
            message_rows.append(
                MessageRow(
                    id=row.id,
                    queue=row.queue,
                    seq=row.seq,
                    body=row.body,
                    attributes=attributes,
                    dead_letter_source=source,
                    sent_at=row.sent_at,
                    visible_at=row.visible_at,
                    receive_count=row.receive_count,
                    first_receive_at=row.first_receive_at,
                    trace_header=row.trace_header,
                )
            )
        return queue_rows, message_rows

    @staticmethod
    def insert_queue(row: QueueRow) -> Write:
        return Write(
            statement=_INSERT_QUEUE,
            params={
                "name": row.name,
                "attributes": orjson.dumps(row.attributes).decode(),
                "tags": orjson.dumps(row.tags).decode(),
                "created_at": row.created_at,
                "modified_at": row.modified_at,
            },
        )

    @staticmethod
    def update_queue(name: str, attributes: Mapping[str, str], at: float) -> Write:
        return Write(
            statement=_UPDATE_QUEUE,
            params={
                "p_name": name,
                "p_attributes": orjson.dumps(dict(attributes)).decode(),
                "p_at": at,
            },
        )

    @staticmethod
    def delete_queue(name: str) -> tuple[Write, Write]:
        return (
            Write(statement=_PURGE, params={"p_queue": name}),
            Write(statement=_DELETE_QUEUE, params={"p_name": name}),
        )

    @staticmethod
    def purge(name: str) -> Write:
        return Write(statement=_PURGE, params={"p_queue": name})

    @staticmethod
    def insert_message(row: MessageRow) -> Write:
        return Write(
            statement=_INSERT_MESSAGE,
            params={
                "id": row.id,
                "queue": row.queue,
                "seq": row.seq,
                "body": row.body,
                "attributes": encode_attributes(row.attributes, row.dead_letter_source),
                "sent_at": row.sent_at,
                "visible_at": row.visible_at,
                "receive_count": row.receive_count,
                "first_receive_at": row.first_receive_at,
                "trace_header": row.trace_header,
            },
        )

    @staticmethod
    def received(
        message_id: str, *, visible_at: float, receive_count: int, first_receive_at: float | None
    ) -> Write:
        return Write(
            statement=_RECEIVED,
            params={
                "p_id": message_id,
                "p_visible_at": visible_at,
                "p_count": receive_count,
                "p_first": first_receive_at,
            },
        )

    @staticmethod
    def visibility(message_id: str, visible_at: float) -> Write:
        return Write(statement=_VISIBILITY, params={"p_id": message_id, "p_at": visible_at})

    @staticmethod
    def delete_message(message_id: str) -> Write:
        return Write(statement=_DELETE_MESSAGE, params={"p_id": message_id})

    @staticmethod
    def move(
        message_id: str,
        *,
        queue: str,
        seq: int,
        visible_at: float,
        attributes: Mapping[str, MessageAttribute],
        dead_letter_source: str,
    ) -> Write:
        return Write(
            statement=_MOVE,
            params={
                "p_id": message_id,
                "p_queue": queue,
                "p_seq": seq,
                "p_at": visible_at,
                "p_attributes": encode_attributes(attributes, dead_letter_source),
            },
        )
