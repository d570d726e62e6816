"""End to end: event source mappings from the RabbitMQ on this machine (127.0.0.1:5672,
guest/guest), named as Amazon MQ brokers, through boto3 against a real server — AWS's
``aws:rmq`` record, FilterCriteria on ``data``, ack after success, nack and redelivery after
a function error, disable/enable, and a broker that refuses the credentials or cannot be
reached putting the mapping in AWS's error state until ``mq.json`` is fixed.

Each test declares a queue of its own with aio-pika and deletes it afterwards.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import pytest
from botocore.exceptions import ClientError

from tests.integration.events.helpers import new_queue
from tests.support import NimbusServer, create_function, error_of, free_port, make_zip, settle

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
ACCOUNT, REGION = "000000000000", "us-east-1"

ECHO = make_zip({"app.py": "def handler(event, context):\n    return None\n"})
# Reports each event to the SQS queue REPORT_URL; a message whose data is "raise" fails its
# batch on its first delivery (and succeeds once redelivered).
REPORTER = make_zip(
    {
        "app.py": (
            "import base64, json, os, boto3\n"
            "sqs = boto3.client('sqs')\n"
            "def handler(event, context):\n"
            "    url = os.environ['REPORT_URL']\n"
            "    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))\n"
            "    for messages in event['rmqMessagesByQueue'].values():\n"
            "        for m in messages:\n"
            "            if base64.b64decode(m['data']) == b'raise' and not m['redelivered']:\n"
            "                raise RuntimeError('first delivery fails')\n"
        )
    }
)


def broker_arn(name: str = "local") -> str:
    return f"arn:aws:mq:{REGION}:{ACCOUNT}:broker:{name}:b-{uuid.uuid4()}"


def basic_auth(secret: str = "local-rabbit") -> dict[str, str]:
    return {
        "Type": "BASIC_AUTH",
        "URI": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{secret}",
    }


def amqp(work: Callable[[aio_pika.abc.AbstractChannel], Any]) -> Any:
    """Run ``work(channel)`` on a connection of the test's own."""

    async def run() -> Any:
        connection = await aio_pika.connect(AMQP_URL)
        async with connection:
            return await work(await connection.channel())

    return asyncio.run(run())


def publish(queue: str, body: bytes, **properties: Any) -> None:
    async def send(channel: aio_pika.abc.AbstractChannel) -> None:
        await channel.default_exchange.publish(
            aio_pika.Message(body, **properties), routing_key=queue
        )

    amqp(send)


def counts(queue: str) -> tuple[int, int]:
    """(ready messages, consumers) of the queue."""

    async def declare(channel: aio_pika.abc.AbstractChannel) -> tuple[int, int]:
        result = (await channel.declare_queue(queue, passive=True)).declaration_result
        return result.message_count or 0, result.consumer_count or 0

    found: tuple[int, int] = amqp(declare)
    return found


def until(what: Callable[[], Any], timeout: float = 15, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = what()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting; last: {value!r}"
        time.sleep(every)


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"nimbus-esm-{uuid.uuid4().hex[:12]}"

    async def declare(channel: aio_pika.abc.AbstractChannel) -> None:
        await channel.declare_queue(name, durable=False)

    amqp(declare)
    yield name

    async def delete(channel: aio_pika.abc.AbstractChannel) -> None:
        await channel.queue_delete(name)

    amqp(delete)


@pytest.fixture
def mq_config(server: NimbusServer) -> Iterator[Callable[[dict[str, Any]], None]]:
    """Write the server's mq.json (owner-only, replaced whole, as an operator would)."""
    path = server.data_dir / "mq.json"
    written: list[Path] = []

    def write(document: dict[str, Any]) -> None:
        scratch = path.with_suffix(f".{uuid.uuid4().hex[:6]}")
        scratch.write_text(json.dumps(document))
        os.chmod(scratch, 0o600)
        os.replace(scratch, path)
        written.append(path)

    yield write
    if written:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="module")
def reporter_role(server: NimbusServer) -> str:
    return server.create_role(f"rmq-reporter-{uuid.uuid4().hex[:8]}", ["sqs:SendMessage"])


def reports(sqs: Any, url: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    """``count`` events the function reported (received and deleted)."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, got
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in page.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            got.append(json.loads(message["Body"]))
    return got


def messages_of(event: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for batch in event["rmqMessagesByQueue"].values() for m in batch]


def reporter(lam: Any, sqs: Any, fname: str, role: str) -> str:
    report_url, _ = new_queue(sqs)
    create_function(
        lam,
        fname,
        code=REPORTER,
        Role=role,
        Timeout=10,
        Environment={"Variables": {"REPORT_URL": report_url}},
    )
    settle(lam, fname)
    return report_url


# --- the API -----------------------------------------------------------------------------


def test_create_with_the_mq_shape_and_refuse_what_aws_refuses(
    lam: Any, fname: str, queue: str, mappings: list[str]
) -> None:
    create_function(lam, fname, code=ECHO)
    arn = broker_arn()
    created = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=fname,
        Queues=[queue],
        SourceAccessConfigurations=[basic_auth(), {"Type": "VIRTUAL_HOST", "URI": "/"}],
        Enabled=False,
    )
    mappings.append(created["UUID"])
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert (created["State"], created["BatchSize"], created["Queues"]) == ("Disabled", 100, [queue])
    assert created["SourceAccessConfigurations"] == [
        basic_auth(),
        {"Type": "VIRTUAL_HOST", "URI": "/"},
    ]
    assert created["LastProcessingResult"] == "No records processed"

    # VIRTUAL_HOST cannot be updated; BASIC_AUTH can (the virtual host stays).
    with pytest.raises(ClientError) as exc:
        lam.update_event_source_mapping(
            UUID=created["UUID"],
            SourceAccessConfigurations=[basic_auth(), {"Type": "VIRTUAL_HOST", "URI": "/x"}],
        )
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    updated = lam.update_event_source_mapping(
        UUID=created["UUID"], SourceAccessConfigurations=[basic_auth("other")]
    )
    assert updated["SourceAccessConfigurations"] == [
        basic_auth("other"),
        {"Type": "VIRTUAL_HOST", "URI": "/"},
    ]

    # One mapping per broker, queue (and virtual host) and function.
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(
            EventSourceArn=arn,
            FunctionName=fname,
            Queues=[queue],
            SourceAccessConfigurations=[basic_auth()],
        )
    assert error_of(exc)[:2] == ("ResourceConflictException", 409)
    assert created["UUID"] in error_of(exc)[2]

    base = {"EventSourceArn": arn, "FunctionName": fname, "Queues": [queue]}
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"Queues": None}, "InvalidParameterValueException", "Queues is required"),
        ({"Queues": [queue, "second"]}, "ValidationException", "queues"),
        ({"SourceAccessConfigurations": []}, "InvalidParameterValueException", "BASIC_AUTH"),
        (
            {"SourceAccessConfigurations": [{"Type": "BASIC_AUTH", "URI": "not-a-secret"}]},
            "InvalidParameterValueException",
            "secret",
        ),
        ({"BatchSize": 10_001}, "ValidationException", "batchSize"),
        ({"EventSourceArn": f"arn:aws:mq:{REGION}:{ACCOUNT}:configuration:c"}, "Invalid", "ARN"),
    ]
    for overrides, code, says in cases:
        params = {**base, "SourceAccessConfigurations": [basic_auth()], **overrides}
        params = {k: v for k, v in params.items() if v is not None}
        with pytest.raises(ClientError) as exc:
            lam.create_event_source_mapping(**params)
        got_code, status, message = error_of(exc)
        assert got_code.startswith(code) and status == 400, (overrides, error_of(exc))
        assert says in message, (overrides, message)


# --- delivery ----------------------------------------------------------------------------


def test_messages_arrive_as_aws_rmq_records_filtered_on_data_and_are_acked(
    lam: Any, sqs: Any, fname: str, queue: str, reporter_role: str, mappings: list[str]
) -> None:
    report_url = reporter(lam, sqs, fname, reporter_role)
    arn = broker_arn()
    mapping = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=fname,
        Queues=[queue],
        SourceAccessConfigurations=[basic_auth()],
        BatchSize=10,
        MaximumBatchingWindowInSeconds=1,
        FilterCriteria={
            "Filters": [
                {"Pattern": '{"data": {"n": [1]}}'},
                {"Pattern": '{"data": [{"prefix": "plain"}]}'},
            ]
        },
    )
    mappings.append(mapping["UUID"])
    until(lambda: counts(queue)[1] == 1)  # consuming
    publish(queue, b'{"n": 2}')  # no filter matches: dropped
    stamp = dt.datetime(2024, 3, 5, 14, 7, 9, tzinfo=dt.UTC)
    publish(
        queue,
        b'{"n": 1}',
        content_type="application/json",
        headers={"kind": "order", "attempt": 3},
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=4,
        correlation_id="c-1",
        message_id="m-1",
        timestamp=stamp,
        app_id="tests",
    )
    publish(queue, b"plain text")

    events = reports(sqs, report_url, 1)
    got = [m for event in events for m in messages_of(event)]
    while len(got) < 2:  # the window may have closed between the two
        got += [m for event in reports(sqs, report_url, 1) for m in messages_of(event)]
    event = events[0]
    assert event["eventSource"] == "aws:rmq"
    assert event["eventSourceArn"] == arn
    assert list(event["rmqMessagesByQueue"]) == [f"{queue}::/"]
    first, second = got  # and not {"n": 2}
    assert base64.b64decode(first["data"]) == b'{"n": 1}'
    assert first["redelivered"] is False
    props = first["basicProperties"]
    assert props["contentType"] == "application/json"
    assert props["headers"] == {"kind": {"bytes": list(b"order")}, "attempt": 3}
    assert (props["deliveryMode"], props["priority"]) == (2, 4)
    assert (props["correlationId"], props["messageId"], props["appId"]) == ("c-1", "m-1", "tests")
    assert props["timestamp"] == "Mar 5, 2024, 2:07:09 PM"
    assert props["bodySize"] == len(b'{"n": 1}')
    assert props["contentEncoding"] is None and props["replyTo"] is None
    assert base64.b64decode(second["data"]) == b"plain text"
    assert second["basicProperties"]["headers"] == {}  # aio-pika always sends a table
    assert second["basicProperties"]["timestamp"] is None

    until(
        lambda: lam.get_event_source_mapping(UUID=mapping["UUID"])["LastProcessingResult"] == "OK"
    )
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    until(lambda: counts(queue)[1] == 0)  # the consumer's channel is closed...
    assert counts(queue)[0] == 0  # ...and nothing came back: all three were acked


def test_a_failed_batch_is_nacked_and_redelivered(
    lam: Any, sqs: Any, fname: str, queue: str, reporter_role: str, mappings: list[str]
) -> None:
    report_url = reporter(lam, sqs, fname, reporter_role)
    mapping = lam.create_event_source_mapping(
        EventSourceArn=broker_arn(),
        FunctionName=fname,
        Queues=[queue],
        SourceAccessConfigurations=[basic_auth()],
    )
    mappings.append(mapping["UUID"])
    publish(queue, b"raise")
    first, second = reports(sqs, report_url, 2)
    assert [m["redelivered"] for m in messages_of(first)] == [False]
    assert [m["redelivered"] for m in messages_of(second)] == [True]
    assert base64.b64decode(messages_of(second)[0]["data"]) == b"raise"


def test_disable_stops_consuming_and_enable_resumes(
    lam: Any, sqs: Any, fname: str, queue: str, reporter_role: str, mappings: list[str]
) -> None:
    report_url = reporter(lam, sqs, fname, reporter_role)
    mapping = lam.create_event_source_mapping(
        EventSourceArn=broker_arn(),
        FunctionName=fname,
        Queues=[queue],
        SourceAccessConfigurations=[basic_auth()],
    )
    mappings.append(mapping["UUID"])
    until(lambda: counts(queue)[1] == 1)
    disabled = lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
    assert disabled["State"] == "Disabling"
    until(lambda: counts(queue)[1] == 0)
    publish(queue, b"while disabled")
    time.sleep(0.5)
    assert counts(queue) == (1, 0)  # still there, nobody consuming

    enabled = lam.update_event_source_mapping(UUID=mapping["UUID"], Enabled=True)
    assert enabled["State"] == "Enabling"
    (event,) = reports(sqs, report_url, 1)
    assert [base64.b64decode(m["data"]) for m in messages_of(event)] == [b"while disabled"]


# --- a broker that fails -------------------------------------------------------------------


def state_of(lam: Any, uuid_: str) -> tuple[str, str, str]:
    got = lam.get_event_source_mapping(UUID=uuid_)
    return got["State"], got["StateTransitionReason"], got["LastProcessingResult"]


def test_refused_credentials_are_an_error_until_the_secret_is_fixed(
    server: NimbusServer,
    lam: Any,
    fname: str,
    queue: str,
    mappings: list[str],
    mq_config: Callable[[dict[str, Any]], None],
) -> None:
    create_function(lam, fname, code=ECHO)
    secret = f"rabbit-{uuid.uuid4().hex[:8]}"
    wrong = f"wrong-{uuid.uuid4().hex}"
    mq_config({"secrets": {secret: {"username": "guest", "password": wrong}}})
    mapping = lam.create_event_source_mapping(
        EventSourceArn=broker_arn(),
        FunctionName=fname,
        Queues=[queue],
        SourceAccessConfigurations=[basic_auth(secret)],
    )
    mappings.append(mapping["UUID"])
    state, _reason, result = until(
        lambda: (s := state_of(lam, mapping["UUID"]))[1] == "EVENT_SOURCE_AUTHN_ERROR" and s
    )
    assert state == "Enabled"
    assert result.startswith("PROBLEM: ") and f"('{secret}')" in result
    # What to fix, without the broker's username or the server's path to mq.json.
    assert "guest" not in result and str(server.data_dir) not in result
    listed = lam.list_event_source_mappings(FunctionName=fname)["EventSourceMappings"]
    assert wrong not in json.dumps(
        [lam.get_event_source_mapping(UUID=mapping["UUID"]), listed], default=str
    )

    mq_config({"secrets": {secret: {"username": "guest", "password": "guest"}}})
    # It retries by itself, and consumes again.
    until(lambda: state_of(lam, mapping["UUID"])[1:] == ("USER_INITIATED", "No records processed"))
    until(lambda: counts(queue)[1] == 1)
    publish(queue, b"after the fix")
    until(lambda: state_of(lam, mapping["UUID"])[2] == "OK")


def test_an_unreachable_broker_is_a_connection_error_until_it_is_back(
    lam: Any,
    fname: str,
    queue: str,
    mappings: list[str],
    mq_config: Callable[[dict[str, Any]], None],
) -> None:
    create_function(lam, fname, code=ECHO)
    name = f"down-{uuid.uuid4().hex[:8]}"
    mq_config({"brokers": {name: f"amqp://guest:guest@127.0.0.1:{free_port()}"}})
    mapping = lam.create_event_source_mapping(
        EventSourceArn=broker_arn(name),
        FunctionName=fname,
        Queues=[queue],
        SourceAccessConfigurations=[basic_auth()],
    )
    mappings.append(mapping["UUID"])
    _state, reason, result = until(
        lambda: (s := state_of(lam, mapping["UUID"]))[2].startswith("PROBLEM") and s
    )
    assert result.startswith("PROBLEM: Connection error.")
    assert reason == "USER_INITIATED"

    mq_config({"brokers": {name: "amqp://guest:guest@127.0.0.1:5672"}})  # the broker is back
    until(lambda: counts(queue)[1] == 1)
    publish(queue, b"after the outage")
    until(lambda: state_of(lam, mapping["UUID"])[2] == "OK")
