"""A fake AMQP channel for unit tests of the RabbitMQ consumer's batching: it records the
acks and nacks the consumer sends; deliveries are aiormq's own ``DeliveredMessage``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from aiormq.abc import AbstractChannel, DeliveredMessage
from pamqp import commands as spec
from pamqp.header import ContentHeader


class FakeChannel:
    """``basic_ack``/``basic_nack`` as ``(tag, multiple[, requeue])`` tuples."""

    def __init__(self) -> None:
        self.acks: list[tuple[int, bool]] = []
        self.nacks: list[tuple[int, bool, bool]] = []

    async def basic_ack(self, delivery_tag: int, multiple: bool = False) -> None:
        self.acks.append((delivery_tag, multiple))

    async def basic_nack(
        self, delivery_tag: int | None = None, multiple: bool = False, requeue: bool = True
    ) -> None:
        self.nacks.append((delivery_tag or 0, multiple, requeue))

    @property
    def raw(self) -> AbstractChannel:
        """This fake, typed as the channel the consumer takes."""
        return cast(AbstractChannel, self)


def delivered(
    tag: int, body: bytes, *, headers: Mapping[str, Any] | None = None, queue: str = "q"
) -> DeliveredMessage:
    """A Basic.Deliver of ``body`` with ``headers``, as aiormq hands it to a consumer."""
    return DeliveredMessage(
        delivery=spec.Basic.Deliver(
            consumer_tag="ctag", delivery_tag=tag, redelivered=False, routing_key=queue
        ),
        header=ContentHeader(
            body_size=len(body), properties=spec.Basic.Properties(headers=dict(headers or {}))
        ),
        body=body,
        channel=cast(AbstractChannel, None),
    )
