"""Sending invocation records and dead-letter messages to where a function's configuration
points: another function (invoked asynchronously), a built-in queue or a built-in topic."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from nimbus.errors import NimbusError
from nimbus.model.arn import parse_function_ref
from nimbus.model.invoke import InvokeCall
from nimbus.model.queue import MessageAttribute

log = logging.getLogger(__name__)

Accept = Callable[[InvokeCall], Awaitable[str]]


class QueuePort(Protocol):
    async def send_to_arn(
        self, arn: str, body: str, attributes: Mapping[str, MessageAttribute] | None = None
    ) -> str: ...


class TopicPort(Protocol):
    async def publish(
        self,
        topic_arn: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, MessageAttribute] | None = None,
    ) -> str: ...


class Destinations:
    def __init__(self, *, queues: QueuePort, topics: TopicPort, accept: Accept) -> None:
        self._queues = queues
        self._topics = topics
        self._accept = accept

    async def send(
        self, arn: str, body: bytes, attributes: Mapping[str, MessageAttribute] | None = None
    ) -> None:
        """Deliver durably; a destination that does not exist (any more) is logged and skipped,
        since nothing else could be done with the record."""
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        try:
            if service == "sqs":
                await self._queues.send_to_arn(arn, body.decode(), attributes)
            elif service == "sns":
                await self._topics.publish(arn, body.decode(), attributes=attributes)
            elif service == "lambda":
                ref = parse_function_ref(arn)
                await self._accept(
                    InvokeCall(
                        function_name=ref.name,
                        qualifier=ref.qualifier,
                        payload=body,
                        invocation_type="Event",
                    )
                )
            else:
                log.warning("unsupported destination %s: record dropped", arn)
        except NimbusError as exc:
            log.warning("destination %s failed (%s): record dropped", arn, exc.message)
