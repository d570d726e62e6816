"""Built-in topics and their subscriptions in the SQL store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.store.group_commit import Write
from nimbus.store.schema import sns_subscriptions as s
from nimbus.store.schema import sns_topics as t

_INSERT_TOPIC = t.insert()
_DELETE_TOPIC = t.delete().where(t.c.name == sa.bindparam("p_name"))
_DELETE_TOPIC_SUBS = s.delete().where(s.c.topic == sa.bindparam("p_name"))
_INSERT_SUB = s.insert()
_DELETE_SUB = s.delete().where(s.c.arn == sa.bindparam("p_arn"))


@dataclass(frozen=True, kw_only=True)
class TopicRow:
    name: str
    attributes: Mapping[str, str]
    created_at: float


@dataclass(frozen=True, kw_only=True)
class SubscriptionRow:
    arn: str
    topic: str
    protocol: str  # "sqs" or "lambda"
    endpoint: str  # queue or function ARN
    attributes: Mapping[str, str]


class TopicRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> tuple[list[TopicRow], list[SubscriptionRow]]:
        async with self._engine.connect() as conn:
            topics = (await conn.execute(sa.select(t))).all()
            subs = (await conn.execute(sa.select(s))).all()
        return (
            [
                TopicRow(
                    name=r.name, attributes=orjson.loads(r.attributes), created_at=r.created_at
                )
                for r in topics
            ],
            [
                SubscriptionRow(
                    arn=r.arn,
                    topic=r.topic,
                    protocol=r.protocol,
                    endpoint=r.endpoint,
                    attributes=orjson.loads(r.attributes),
                )
                for r in subs
            ],
        )

    @staticmethod
    def insert_topic(row: TopicRow) -> Write:
        return Write(
            statement=_INSERT_TOPIC,
            params={
                "name": row.name,
                "attributes": orjson.dumps(dict(row.attributes)).decode(),
                "created_at": row.created_at,
            },
        )

    @staticmethod
    def delete_topic(name: str) -> tuple[Write, Write]:
        return (
            Write(statement=_DELETE_TOPIC_SUBS, params={"p_name": name}),
            Write(statement=_DELETE_TOPIC, params={"p_name": name}),
        )

    @staticmethod
    def insert_subscription(row: SubscriptionRow) -> Write:
        return Write(
            statement=_INSERT_SUB,
            params={
                "arn": row.arn,
                "topic": row.topic,
                "protocol": row.protocol,
                "endpoint": row.endpoint,
                "attributes": orjson.dumps(dict(row.attributes)).decode(),
            },
        )

    @staticmethod
    def delete_subscription(arn: str) -> Write:
        return Write(statement=_DELETE_SUB, params={"p_arn": arn})
