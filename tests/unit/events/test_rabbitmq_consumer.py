"""The RabbitMQ consumer's batching over a fake channel: a message that cannot become a
record (a poison message) is acked, dropped and reported, and the consumer goes on with the
next one instead of ending its session (which would have the broker redeliver it forever)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from aiormq.abc import DeliveredMessage

from nimbus.events import rabbitmq_rules as rules
from nimbus.events.rabbitmq_brokers import BrokerDirectory
from nimbus.events.rabbitmq_consumer import ConsumerTuning, RabbitConsumer
from nimbus.model.event_source_mapping import EventSourceMapping, MappingSettings
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.testing.amqp import FakeChannel, delivered
from nimbus.testing.clock import ManualClock
from nimbus.testing.invoker import FakeInvoker, succeed

BROKER = "arn:aws:mq:us-east-1:000000000000:broker:local:b-1"


def consumer(tmp_path: Path, invoker: FakeInvoker, *patterns: str) -> RabbitConsumer:
    mapping = EventSourceMapping(
        uuid="u-1",
        source_arn=BROKER,
        last_modified=0.0,
        settings=MappingSettings(
            function_name="f", batch_size=1, queues=("q",), filter_patterns=patterns
        ),
    )
    return RabbitConsumer(
        mapping,
        broker=rules.parse_broker(BROKER),
        directory=BrokerDirectory(brokers="*=amqp://h", config_path=tmp_path / "mq.json"),
        invoker=invoker,
        clock=ManualClock(),
        tuning=ConsumerTuning(),
    )


async def consume(
    esm: RabbitConsumer, invoker: FakeInvoker, channel: FakeChannel, *messages: DeliveredMessage
) -> None:
    """Run the consumer's loop over ``messages`` until its first invoke has been settled
    (the invoke stops the consumer, which lets the batch in flight finish and be acked)."""
    script = invoker.script

    def stop_after(call: InvokeCall) -> InvokeOutcome | Exception:
        esm.stop()
        return script(call)

    invoker.script = stop_after
    inbox: asyncio.Queue[DeliveredMessage] = asyncio.Queue()
    for message in messages:
        inbox.put_nowait(message)
    await asyncio.wait_for(esm._consume(channel.raw, inbox, asyncio.Event()), 5)


def nested(depth: int) -> dict[str, object]:
    value: object = 1
    for _ in range(depth):
        value = {"t": value}
    return {"h": value}


async def test_a_message_that_cannot_become_a_record_is_dropped_and_the_next_delivered(
    tmp_path: Path,
) -> None:
    invoker = FakeInvoker()
    esm, channel = consumer(tmp_path, invoker), FakeChannel()
    # Headers nested deeper than Python's recursion: rendering them used to raise
    # RecursionError out of the consumer's loop, and the broker redelivered it every time.
    poison = delivered(1, b"poison", headers=nested(5000))
    await consume(esm, invoker, channel, poison, delivered(2, b"fine", headers=nested(3)))

    [call] = invoker.calls
    [record] = orjson.loads(call.payload)["rmqMessagesByQueue"]["q::/"]
    assert record["data"] == "ZmluZQ=="  # b"fine"
    assert channel.acks == [(1, False), (2, True)]  # the poison acked alone, then the batch
    assert channel.nacks == []


async def test_a_dropped_message_is_reported_until_the_next_batch(tmp_path: Path) -> None:
    reported: list[str] = []

    def script(call: InvokeCall) -> InvokeOutcome:
        reported.append(esm.state.last_result)
        return succeed(call)

    invoker = FakeInvoker(script)
    esm, channel = consumer(tmp_path, invoker), FakeChannel()
    await consume(esm, invoker, channel, delivered(1, b"x", headers=nested(40)), delivered(2, b"y"))
    assert reported == [
        "PROBLEM: A message was dropped: Nimbus cannot turn it into a record (its headers "
        "nest tables or arrays more than 32 levels deep)."
    ]
    assert esm.state.last_result == "OK"


async def test_messages_a_stored_filter_cannot_evaluate_are_delivered(tmp_path: Path) -> None:
    # A stored filter that no longer parses (deeper than patterns may now nest) cannot say
    # which messages it would admit; they are delivered, never dropped.
    too_deep = '{"a":' * 40 + '["x"]' + "}" * 40
    invoker = FakeInvoker()
    esm = consumer(tmp_path, invoker, '{"data": ["never"]}', too_deep)
    channel = FakeChannel()
    await consume(esm, invoker, channel, delivered(1, b"anything"))
    assert len(invoker.calls) == 1
    assert channel.acks == [(1, True)]
