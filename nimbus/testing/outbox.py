"""Recording stand-ins for the built-in queues and topics as deliveries see them
(``events.destinations.QueuePort`` and ``TopicPort``), for unit tests: what was sent where,
and chosen ARNs that fail (missing, or failing ``failures`` times first)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from nimbus.errors import NimbusError, QueueDoesNotExistError, ServiceError, TopicNotFoundError
from nimbus.model.queue import MessageAttribute


@dataclass(frozen=True, kw_only=True)
class Sent:
    arn: str
    body: str
    attributes: Mapping[str, MessageAttribute] = field(default_factory=dict)

    def attribute(self, name: str) -> str | None:
        found = self.attributes.get(name)
        return None if found is None else found.string_value


class Outbox:
    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.missing: set[str] = set()  # ARNs that do not exist
        self.failing: dict[str, int] = {}  # ARN -> sends that fail (ServiceError) first

    def to(self, arn: str) -> list[Sent]:
        return [s for s in self.sent if s.arn == arn]

    def _send(
        self,
        arn: str,
        body: str,
        attributes: Mapping[str, MessageAttribute] | None,
        missing: NimbusError,
    ) -> str:
        if arn in self.missing:
            raise missing
        if self.failing.get(arn, 0) > 0:
            self.failing[arn] -= 1
            raise ServiceError("The store is unavailable.")
        self.sent.append(Sent(arn=arn, body=body, attributes=dict(attributes or {})))
        return f"m-{len(self.sent)}"

    async def send_to_arn(
        self,
        arn: str,
        body: str,
        attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        trace_header: str | None = None,
    ) -> str:
        return self._send(
            arn, body, attributes, QueueDoesNotExistError("The specified queue does not exist.")
        )

    async def publish(
        self,
        topic_arn: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, MessageAttribute] | None = None,
        trace_header: str | None = None,
    ) -> str:
        return self._send(
            topic_arn, message, attributes, TopicNotFoundError("Topic does not exist")
        )
