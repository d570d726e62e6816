"""The ``aws:rmq`` event built from AMQP deliveries, against AWS's example event, and what
FilterCriteria patterns see of a message."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import orjson
import pytest

from nimbus.events import rabbitmq_records as records
from nimbus.events.rabbitmq_records import Delivery
from nimbus.events.record_filter import compile_filters

ARN = "arn:aws:mq:us-west-2:111122223333:broker:test:b-9bcfa592-423a-4942-879d-eb284b418fc8"
BODY = b'{"timeout":0,"data":"CZrmf0Gw8Ov4bqLQxD4E"}'


def aws_example() -> Delivery:
    """The message of AWS's example RabbitMQ event."""
    return Delivery(
        delivery_tag=1,
        body=BODY,
        content_type="text/plain",
        headers={"header1": "value1", "header2": b"value2", "numberInHeader": 10},
        delivery_mode=1,
        priority=34,
        expiration="60000",
        timestamp=dt.datetime(1970, 1, 1, 0, 33, 41, tzinfo=dt.UTC),
        user_id="AIDACKCEVSQ6C2EXAMPLE",
    )


def test_a_message_record_has_awss_shape() -> None:
    assert records.message_record(aws_example()) == {
        "basicProperties": {
            "contentType": "text/plain",
            "contentEncoding": None,
            "headers": {
                "header1": {"bytes": [118, 97, 108, 117, 101, 49]},
                "header2": {"bytes": [118, 97, 108, 117, 101, 50]},
                "numberInHeader": 10,
            },
            "deliveryMode": 1,
            "priority": 34,
            "correlationId": None,
            "replyTo": None,
            "expiration": "60000",
            "messageId": None,
            "timestamp": "Jan 1, 1970, 12:33:41 AM",
            "type": None,
            "userId": "AIDACKCEVSQ6C2EXAMPLE",
            "appId": None,
            "clusterId": None,
            "bodySize": len(BODY),
        },
        "redelivered": False,
        "data": "eyJ0aW1lb3V0IjowLCJkYXRhIjoiQ1pybWYwR3c4T3Y0YnFMUXhENEUifQ==",
    }


def test_absent_properties_are_null() -> None:
    record = records.message_record(Delivery(delivery_tag=7, body=b"", redelivered=True))
    props = record["basicProperties"]
    assert props["headers"] is None and props["deliveryMode"] is None
    assert props["priority"] is None and props["timestamp"] is None
    assert (props["bodySize"], record["data"], record["redelivered"]) == (0, "", True)


def test_timestamps_are_javas_default_format_in_utc() -> None:
    afternoon = dt.datetime(2024, 3, 5, 14, 7, 9, tzinfo=dt.UTC)
    assert records.java_date(afternoon) == "Mar 5, 2024, 2:07:09 PM"
    noon = dt.datetime(2024, 12, 25, 12, 0, 0, tzinfo=dt.UTC)
    assert records.java_date(noon) == "Dec 25, 2024, 12:00:00 PM"
    elsewhere = dt.datetime(2024, 1, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert records.java_date(elsewhere) == "Dec 31, 2023, 11:00:00 PM"


def test_header_values_of_every_amqp_type() -> None:
    value = records.header_value(
        {
            "flag": True,
            "none": None,
            "ratio": 0.5,
            "price": Decimal("1.25"),
            "list": ["a", 2],
            "when": dt.datetime(1970, 1, 1, tzinfo=dt.UTC),
        }
    )
    assert value == {
        "flag": True,
        "none": None,
        "ratio": 0.5,
        "price": 1.25,
        "list": [{"bytes": [97]}, 2],
        "when": "Jan 1, 1970, 12:00:00 AM",
    }


def test_headers_nested_past_the_bound_make_a_message_unrecordable() -> None:
    def nested(levels: int, leaf: object = 1) -> object:
        value = leaf
        for index in range(levels):
            value = {"t": value} if index % 2 else [value]
        return value

    deepest = records.header_value(nested(records.MAX_HEADER_DEPTH))
    assert orjson.dumps(deepest).count(b"[") + orjson.dumps(deepest).count(b"{") == 32
    for levels in (records.MAX_HEADER_DEPTH + 1, 10_000):  # 10,000: past Python's recursion
        with pytest.raises(records.UnrecordableMessage, match="more than 32 levels deep"):
            records.message_record(
                Delivery(delivery_tag=1, body=b"", headers={"h": nested(levels)})
            )


def test_the_event_keys_messages_by_queue_and_virtual_host() -> None:
    one = orjson.dumps(records.message_record(aws_example()))
    payload = records.event_payload(broker_arn=ARN, queue="test", vhost="/", records=[one, one])
    event = orjson.loads(payload)
    assert event["eventSource"] == "aws:rmq"
    assert event["eventSourceArn"] == ARN
    assert list(event["rmqMessagesByQueue"]) == ["test::/"]
    assert len(event["rmqMessagesByQueue"]["test::/"]) == 2
    assert base64.b64decode(event["rmqMessagesByQueue"]["test::/"][0]["data"]) == BODY
    empty = records.event_payload(broker_arn=ARN, queue="test", vhost="/", records=())
    assert records.envelope_size(broker_arn=ARN, queue="test", vhost="/") == len(empty)
    assert orjson.loads(empty)["rmqMessagesByQueue"] == {"test::/": []}


def test_filters_see_data_decoded() -> None:
    orders = compile_filters(['{"data": {"kind": ["order"]}}'])
    pings = compile_filters(['{"data": [{"prefix": "ping"}]}'])

    def delivery(body: bytes) -> Delivery:
        return Delivery(delivery_tag=1, body=body)

    assert orders.admits(records.filter_view(delivery(b'{"kind": "order", "n": 1}')))
    assert not orders.admits(records.filter_view(delivery(b'{"kind": "refund"}')))
    assert not orders.admits(records.filter_view(delivery(b"kind=order")))
    assert pings.admits(records.filter_view(delivery(b"ping 1")))
    assert not pings.admits(records.filter_view(delivery(b'{"ping": 1}')))
    # Bytes that are not text have no data a pattern can match.
    assert records.filter_view(delivery(b"\xff\xfe")) == {}
