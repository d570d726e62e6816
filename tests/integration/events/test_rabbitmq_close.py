"""Closing the RabbitMQ pollers (the node shutting down) against the RabbitMQ on this machine:
the batch being invoked finishes and is acked before the connection closes, so a graceful
restart does not deliver it again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest

from nimbus.clock import SystemClock
from nimbus.events.rabbitmq_brokers import BrokerDirectory
from nimbus.events.rabbitmq_consumer import ConsumerTuning
from nimbus.events.rabbitmq_poller import RabbitMqPollers
from nimbus.model.event_source_mapping import EventSourceMapping, MappingSettings, SourceAccess
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.testing.invoker import FakeInvoker, succeed

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
BROKER = "arn:aws:mq:us-east-1:000000000000:broker:local:b-1"
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:local"


class SlowInvoker(FakeInvoker):
    """Answers each invoke after ``seconds``; ``started`` is set when the first begins."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self.seconds = seconds
        self.started = asyncio.Event()
        self.finished = 0

    async def invoke(self, call: InvokeCall) -> InvokeOutcome:
        self.started.set()
        await asyncio.sleep(self.seconds)
        self.finished += 1
        return succeed(call)


@pytest.fixture
async def channel() -> AsyncIterator[aio_pika.abc.AbstractChannel]:
    connection = await aio_pika.connect(AMQP_URL)
    async with connection:
        yield await connection.channel()


async def test_closing_lets_the_batch_being_invoked_finish_and_be_acked(
    channel: aio_pika.abc.AbstractChannel, tmp_path: Path
) -> None:
    queue = await channel.declare_queue(f"nimbus-close-{uuid.uuid4().hex[:12]}", durable=False)
    try:
        invoker = SlowInvoker(0.3)
        pollers = RabbitMqPollers(
            directory=BrokerDirectory(
                brokers="*=amqp://guest:guest@127.0.0.1:5672", config_path=tmp_path / "mq.json"
            ),
            invoker=invoker,
            clock=SystemClock(),
            region="us-east-1",
            account="000000000000",
            tuning=ConsumerTuning(close_grace_s=5.0),
        )
        pollers.apply(
            EventSourceMapping(
                uuid="u-close",
                source_arn=BROKER,
                last_modified=0.0,
                settings=MappingSettings(
                    function_name="f",
                    batch_size=1,
                    queues=(queue.name,),
                    source_access=(SourceAccess(type="BASIC_AUTH", uri=SECRET),),
                ),
            )
        )
        await channel.default_exchange.publish(aio_pika.Message(b"once"), routing_key=queue.name)
        await asyncio.wait_for(invoker.started.wait(), 10)
        await pollers.close()  # while the invoke is still running

        assert invoker.finished == 1
        declared = await channel.declare_queue(queue.name, passive=True)
        # Acked before the connection closed: nothing is left to deliver again.
        assert declared.declaration_result.message_count == 0
        assert declared.declaration_result.consumer_count == 0
    finally:
        await queue.delete(if_unused=False, if_empty=False)
