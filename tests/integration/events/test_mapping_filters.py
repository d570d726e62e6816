"""End to end, SQS event source mappings as a user relies on them: FilterCriteria (matching
messages delivered, the rest deleted from the queue, bad patterns refused with Lambda's
error), disabling and enabling a mapping, and an SNS topic's notifications reaching a
function through a subscribed queue with the SNS envelope as the record's body."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.events.helpers import new_queue
from tests.support import NimbusServer, create_function, error_of, make_zip, settle

# Sends each batch's bodies to the queue named by REPORT_URL.
REPORTER = make_zip(
    {
        "app.py": (
            "import json, os, boto3\n"
            "sqs = boto3.client('sqs')\n"
            "def handler(event, context):\n"
            "    sqs.send_message(QueueUrl=os.environ['REPORT_URL'], MessageBody=json.dumps(\n"
            "        [r['body'] for r in event['Records']]))\n"
        )
    }
)


@pytest.fixture(scope="module")
def role(server: NimbusServer) -> str:
    return server.create_role(f"esm-filters-{uuid.uuid4().hex[:8]}", ["sqs:SendMessage"])


def reporter(lam: Any, sqs: Any, name: str, role: str) -> str:
    """A REPORTER function; returns its report queue's URL."""
    report_url, _ = new_queue(sqs)
    create_function(
        lam,
        name,
        code=REPORTER,
        Role=role,
        Timeout=5,
        Environment={"Variables": {"REPORT_URL": report_url}},
    )
    settle(lam, name)
    return report_url


def batches(sqs: Any, url: str, count: int, timeout: float = 20) -> list[list[str]]:
    """``count`` reported batches (each a list of bodies), received and deleted."""
    got: list[list[str]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, got
        for message in sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        ).get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            got.append(json.loads(message["Body"]))
    return got


def counts(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight) messages of a queue."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(attributes[names[0]]), int(attributes[names[1]])


def test_filters_deliver_what_matches_and_delete_the_rest(
    lam: Any, sqs: Any, fname: str, role: str, mappings: list[str]
) -> None:
    report_url = reporter(lam, sqs, fname, role)
    url, arn = new_queue(sqs, VisibilityTimeout="30")
    for body in ('{"kind": "order", "n": 1}', '{"kind": "refund"}', "ping", "pong", "{oops"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    filters = [
        {"Pattern": json.dumps({"body": {"kind": ["order"]}})},
        {"Pattern": json.dumps({"body": ["ping"]})},  # a plain-string body
    ]
    created = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=fname,
        MaximumBatchingWindowInSeconds=1,
        FilterCriteria={"Filters": filters},
    )
    mappings.append(created["UUID"])
    assert created["FilterCriteria"] == {"Filters": filters}
    assert lam.get_event_source_mapping(UUID=created["UUID"])["FilterCriteria"] == {
        "Filters": filters
    }
    delivered: list[str] = []
    deadline = time.monotonic() + 20
    while len(delivered) < 2:
        assert time.monotonic() < deadline, delivered
        delivered += [b for batch in batches(sqs, report_url, 1) for b in batch]
    assert sorted(delivered) == sorted(['{"kind": "order", "n": 1}', "ping"])
    # The three refused messages were deleted, not left in flight for a redelivery: with a
    # 30 s visibility timeout they would still count as not visible.
    deadline = time.monotonic() + 5
    while counts(sqs, url) != (0, 0):
        assert time.monotonic() < deadline, counts(sqs, url)
        time.sleep(0.1)
    assert counts(sqs, report_url) == (0, 0)  # and no batch delivered them


def test_invalid_filter_criteria_are_refused_with_lambdas_error(
    lam: Any, sqs: Any, fname: str, mappings: list[str]
) -> None:
    create_function(lam, fname, code=REPORTER)
    _url, arn = new_queue(sqs)
    pattern = json.dumps({"body": {"kind": "order"}})  # a leaf must be an array
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(
            EventSourceArn=arn,
            FunctionName=fname,
            FilterCriteria={"Filters": [{"Pattern": pattern}]},
        )
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.startswith("Invalid filter pattern definition.")
    assert '"kind" must be an object or an array' in message

    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname, Enabled=False)
    mappings.append(created["UUID"])
    six = [{"Pattern": json.dumps({"body": [str(i)]})} for i in range(6)]
    for criteria, expected in (
        ({"Filters": six}, ("InvalidParameterValueException", 400)),
        ({"Filters": [{"Pattern": "{"}]}, ("InvalidParameterValueException", 400)),
        (
            {"Filters": [{"Pattern": json.dumps({"body": ["x" * 4100]})}]},
            ("ValidationException", 400),
        ),
    ):
        with pytest.raises(ClientError) as exc:
            lam.update_event_source_mapping(UUID=created["UUID"], FilterCriteria=criteria)
        assert error_of(exc)[:2] == expected, criteria
    assert "FilterCriteria" not in lam.get_event_source_mapping(UUID=created["UUID"])


def test_a_disabled_mapping_leaves_messages_and_enabling_delivers_them(
    lam: Any, sqs: Any, fname: str, role: str, mappings: list[str]
) -> None:
    report_url = reporter(lam, sqs, fname, role)
    url, arn = new_queue(sqs, VisibilityTimeout="10")
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname, Enabled=False)
    mappings.append(created["UUID"])
    assert created["State"] == "Disabled"
    for body in ("a", "b", "c"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    time.sleep(0.5)  # an enabled mapping's pollers, long-polling, would take them at once
    assert counts(sqs, url) == (3, 0)  # nobody polls a disabled mapping's queue

    assert lam.update_event_source_mapping(UUID=created["UUID"], Enabled=True)["State"] == (
        "Enabling"
    )
    got = batches(sqs, report_url, 1)
    while sum(len(b) for b in got) < 3:
        got += batches(sqs, report_url, 1)
    assert sorted(b for batch in got for b in batch) == ["a", "b", "c"]

    disabled = lam.update_event_source_mapping(UUID=created["UUID"], Enabled=False)
    assert disabled["State"] == "Disabling"
    assert lam.get_event_source_mapping(UUID=created["UUID"])["State"] == "Disabled"
    sqs.send_message(QueueUrl=url, MessageBody="d")
    time.sleep(0.7)
    assert counts(sqs, url) == (1, 0)
    lam.update_event_source_mapping(UUID=created["UUID"], Enabled=True)
    assert batches(sqs, report_url, 1) == [["d"]]


def test_an_sns_notification_reaches_the_function_through_a_subscribed_queue(
    server: NimbusServer, lam: Any, sqs: Any, fname: str, role: str, mappings: list[str]
) -> None:
    sns = server.client("sns")
    report_url = reporter(lam, sqs, fname, role)
    url, arn = new_queue(sqs, VisibilityTimeout="30")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    # A filter reaches into the envelope: only notifications whose Message starts "order".
    pattern = {"body": {"Type": ["Notification"], "Message": [{"prefix": "order"}]}}
    created = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=fname,
        FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]},
    )
    mappings.append(created["UUID"])
    sns.publish(TopicArn=topic, Message="noise", Subject="ignored")
    message_id = sns.publish(TopicArn=topic, Message="order-7", Subject="new order")["MessageId"]

    [[body]] = batches(sqs, report_url, 1)
    envelope = json.loads(body)
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == message_id
    assert envelope["TopicArn"] == topic
    assert (envelope["Message"], envelope["Subject"]) == ("order-7", "new order")
    deadline = time.monotonic() + 5
    while counts(sqs, url) != (0, 0):  # the noise was deleted, not delivered
        assert time.monotonic() < deadline, counts(sqs, url)
        time.sleep(0.1)
    assert counts(sqs, report_url) == (0, 0)
