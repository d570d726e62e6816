"""Sending invocation records and dead-letter messages to where a function's configuration
points: another function (invoked asynchronously), a built-in queue or a built-in topic; and
knowing, when a configuration is written, whether such a destination exists."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from nimbus.errors import NimbusError, QueueDoesNotExistError
from nimbus.model.arn import Arns, parse_function_ref
from nimbus.model.invoke import InvokeCall
from nimbus.model.queue import MessageAttribute

log = logging.getLogger(__name__)

Accept = Callable[[InvokeCall], Awaitable[str]]


class QueuePort(Protocol):
    async def send_to_arn(
        self,
        arn: str,
        body: str,
        attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        trace_header: str | None = None,
    ) -> str: ...


class TopicPort(Protocol):
    async def publish(
        self,
        topic_arn: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, MessageAttribute] | None = None,
        trace_header: str | None = None,
    ) -> str: ...


class Destinations:
    def __init__(self, *, queues: QueuePort, topics: TopicPort, accept: Accept) -> None:
        self._queues = queues
        self._topics = topics
        self._accept = accept

    async def send(
        self,
        arn: str,
        body: bytes,
        attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        trace_header: str | None = None,
    ) -> None:
        """Deliver durably; a destination that does not exist (any more) is logged and skipped,
        since nothing else could be done with the record.

        ``trace_header`` is the trace header of the invocation the record is about: it goes
        on as the queue message's AWSTraceHeader, the topic's deliveries' or the function's
        invoke's trace header, so a loop through a destination or a DLQ is counted too."""
        service = arn.split(":")[2] if arn.count(":") >= 5 else ""
        try:
            if service == "sqs":
                await self._queues.send_to_arn(
                    arn, body.decode(), attributes, trace_header=trace_header
                )
            elif service == "sns":
                await self._topics.publish(
                    arn, body.decode(), attributes=attributes, trace_header=trace_header
                )
            elif service == "lambda":
                ref = parse_function_ref(arn)
                await self._accept(
                    InvokeCall(
                        function_name=ref.name,
                        qualifier=ref.qualifier,
                        payload=body,
                        invocation_type="Event",
                        trace_header=trace_header,
                    )
                )
            else:
                log.warning("unsupported destination %s: record dropped", arn)
        except NimbusError as exc:
            log.warning("destination %s failed (%s): record dropped", arn, exc.message)


class FunctionLookup(Protocol):
    async def config(self, name: str, qualifier: str | None) -> object:
        """Raises ``ResourceNotFoundError`` when the function, version or alias does not exist
        (other ``NimbusError``s for a name of the wrong form)."""
        ...


class QueueLookup(Protocol):
    def get_queue_url(self, name: str) -> str:
        """Raises ``QueueDoesNotExistError`` when there is no such queue."""
        ...


class TopicLookup(Protocol):
    def list_topics(self) -> list[str]:
        """The ARNs of every topic; never raises."""
        ...


class KnownDestinations:
    """Whether a destination ARN names something this node has: a function (with its version
    or alias, when the ARN names one), a built-in queue or a built-in topic, in this node's
    region and account. AWS refuses a configuration whose destination it cannot reach, so a
    record is never written only to be dropped later."""

    def __init__(
        self, *, functions: FunctionLookup, queues: QueueLookup, topics: TopicLookup, arns: Arns
    ) -> None:
        self._functions = functions
        self._queues = queues
        self._topics = topics
        self._arns = arns

    async def exists(self, arn: str) -> bool:
        """Never raises: an ARN of a form no destination has simply does not exist."""
        parts = arn.split(":")
        if len(parts) < 6 or (parts[3], parts[4]) != (self._arns.region, self._arns.account):
            return False
        service = parts[2]
        if service == "sqs":
            if len(parts) != 6:
                return False
            try:
                self._queues.get_queue_url(parts[5])
            except QueueDoesNotExistError:
                return False
            return True
        if service == "sns":
            return arn in self._topics.list_topics()
        if service == "lambda":
            try:
                ref = parse_function_ref(arn)
                await self._functions.config(ref.name, ref.qualifier)
            except NimbusError:
                # ResourceNotFoundError, or not a function ARN at all (a parse error).
                return False
            return True
        return False
