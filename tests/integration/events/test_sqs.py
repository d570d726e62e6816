"""The built-in queues through boto3's SQS client (JSON protocol) against a real server."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import NimbusServer


@pytest.fixture(scope="module")
def sqs(server: NimbusServer) -> Any:
    return server.client("sqs")


def new_queue(sqs: Any, **attributes: str) -> str:
    url: str = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:12]}", Attributes=attributes)[
        "QueueUrl"
    ]
    return url


def arn_of(sqs: Any, url: str) -> str:
    return str(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    )


def test_queue_lifecycle(sqs: Any) -> None:
    name = f"life-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    assert url.endswith(f"/000000000000/{name}")
    assert sqs.create_queue(QueueName=name)["QueueUrl"] == url  # idempotent
    assert sqs.get_queue_url(QueueName=name)["QueueUrl"] == url
    assert url in sqs.list_queues(QueueNamePrefix="life-")["QueueUrls"]
    with pytest.raises(ClientError) as exc:
        sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "5"})
    assert exc.value.response["Error"]["Code"] == "QueueAlreadyExists"
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName=name)


def test_send_receive_delete_with_attributes(sqs: Any) -> None:
    url = new_queue(sqs)
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="héllo",
        MessageAttributes={
            "s": {"DataType": "String", "StringValue": "v"},
            "n": {"DataType": "Number", "StringValue": "42"},
            "b": {"DataType": "Binary", "BinaryValue": b"\x00\xff"},
        },
    )  # boto3 checks MD5OfMessageBody and MD5OfMessageAttributes
    got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], AttributeNames=["All"])[
        "Messages"
    ]
    assert [m["MessageId"] for m in got] == [sent["MessageId"]]
    message = got[0]
    assert message["Body"] == "héllo"
    assert message["MessageAttributes"]["b"]["BinaryValue"] == b"\x00\xff"
    assert message["Attributes"]["ApproximateReceiveCount"] == "1"
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_visibility_timeout_and_change(sqs: Any) -> None:
    url = new_queue(sqs, VisibilityTimeout="1")
    sqs.send_message(QueueUrl=url, MessageBody="m")
    first = sqs.receive_message(QueueUrl=url)["Messages"][0]
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # in flight
    time.sleep(1.1)
    again = sqs.receive_message(QueueUrl=url, AttributeNames=["ApproximateReceiveCount"])
    second = again["Messages"][0]
    assert second["MessageId"] == first["MessageId"]
    assert second["Attributes"]["ApproximateReceiveCount"] == "2"
    sqs.change_message_visibility(
        QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=0
    )
    third = sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]
    assert third["MessageId"] == first["MessageId"]
    with pytest.raises(ClientError) as exc:  # an old receipt no longer changes visibility
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=second["ReceiptHandle"], VisibilityTimeout=5
        )
    assert exc.value.response["Error"]["QueryErrorCode"] == "MessageNotInflight"
    with pytest.raises(ClientError) as exc:
        sqs.delete_message(QueueUrl=url, ReceiptHandle="garbage")
    assert exc.value.response["Error"]["QueryErrorCode"] == "ReceiptHandleIsInvalid"


def test_long_polling_wakes_on_send_and_times_out(sqs: Any, server: NimbusServer) -> None:
    import threading

    url = new_queue(sqs)
    started = time.monotonic()
    assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
    assert time.monotonic() - started >= 0.9
    other = server.client("sqs")
    timer = threading.Timer(0.5, lambda: other.send_message(QueueUrl=url, MessageBody="late"))
    timer.start()
    started = time.monotonic()
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=10)["Messages"]
    elapsed = time.monotonic() - started
    timer.join()
    assert got[0]["Body"] == "late"
    assert 0.4 < elapsed < 3


def test_batches_max_messages_and_batch_errors(sqs: Any) -> None:
    url = new_queue(sqs)
    result = sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": f"e{i}", "MessageBody": f"m{i}"} for i in range(10)]
    )
    assert len(result["Successful"]) == 10
    got: list[dict[str, Any]] = []
    while len(got) < 10:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        assert len(page.get("Messages", [])) <= 10
        got += page.get("Messages", [])
    assert sorted(m["Body"] for m in got) == sorted(f"m{i}" for i in range(10))
    deleted = sqs.delete_message_batch(
        QueueUrl=url,
        Entries=[{"Id": f"d{i}", "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)],
    )
    assert len(deleted["Successful"]) == 10
    partial = sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": "bad", "ReceiptHandle": "x"}])
    assert partial["Failed"][0]["Id"] == "bad"
    with pytest.raises(ClientError) as exc:
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "x"}, {"Id": "a", "MessageBody": "y"}]
        )
    assert exc.value.response["Error"]["QueryErrorCode"] == "BatchEntryIdsNotDistinct"
    with pytest.raises(ClientError) as exc:
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": f"i{i}", "MessageBody": "x"} for i in range(11)]
        )
    assert exc.value.response["Error"]["QueryErrorCode"] == "TooManyEntriesInBatchRequest"
    changed = sqs.change_message_visibility_batch(
        QueueUrl=url, Entries=[{"Id": "c", "ReceiptHandle": "x#y", "VisibilityTimeout": 1}]
    )
    assert changed["Failed"][0]["Id"] == "c"


def test_attributes_purge_and_delay(sqs: Any) -> None:
    url = new_queue(sqs, DelaySeconds="1", VisibilityTimeout="45")
    sqs.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": "x"} for i in range(3)]
    )
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"
    assert attributes["DelaySeconds"] == "1"
    assert attributes["ApproximateNumberOfMessagesDelayed"] == "3"
    assert attributes["QueueArn"].startswith("arn:aws:sqs:us-east-1:000000000000:q-")
    assert "Messages" not in sqs.receive_message(QueueUrl=url)  # delayed
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "7"})
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])[
        "Attributes"
    ] == {"VisibilityTimeout": "7"}
    time.sleep(1.1)
    counts = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert counts["Attributes"]["ApproximateNumberOfMessages"] == "3"
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "999999"})
    assert exc.value.response["Error"]["QueryErrorCode"] == "InvalidAttributeValue"
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName="fifo.fifo", Attributes={"FifoQueue": "true"})


def test_redrive_to_dead_letter_queue_after_max_receive_count(sqs: Any) -> None:
    dlq = new_queue(sqs)
    source = new_queue(
        sqs,
        VisibilityTimeout="0",
        RedrivePolicy=json.dumps({"deadLetterTargetArn": arn_of(sqs, dlq), "maxReceiveCount": 2}),
    )
    sent = sqs.send_message(QueueUrl=source, MessageBody="poison")["MessageId"]
    for _ in range(2):
        assert sqs.receive_message(QueueUrl=source)["Messages"][0]["MessageId"] == sent
    assert "Messages" not in sqs.receive_message(QueueUrl=source)  # moved on the third try
    moved = sqs.receive_message(QueueUrl=dlq, AttributeNames=["All"])["Messages"][0]
    assert moved["MessageId"] == sent
    assert moved["Body"] == "poison"
    assert moved["Attributes"]["DeadLetterQueueSourceArn"] == arn_of(sqs, source)
    with pytest.raises(ClientError) as exc:
        sqs.set_queue_attributes(
            QueueUrl=source, Attributes={"RedrivePolicy": json.dumps({"maxReceiveCount": 0})}
        )
    assert exc.value.response["Error"]["QueryErrorCode"] == "InvalidAttributeValue"


def test_messages_survive_a_restart(tmp_path: Any) -> None:
    instance = NimbusServer(data_dir=tmp_path / "data")
    instance.start()
    try:
        sqs = instance.client("sqs")
        url = sqs.create_queue(QueueName="durable")["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="kept")
        instance.kill9()
        instance.start()
        sqs = instance.client("sqs")
        got = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="durable")["QueueUrl"])
        assert got["Messages"][0]["Body"] == "kept"
    finally:
        instance.stop()


def test_sqs_body_that_is_json_but_not_an_object_is_a_400(server: NimbusServer) -> None:
    with server.http("sqs") as http:  # signed (auth is on): the body is what is wrong
        for body in (b"[]", b"1", b'"x"', b"null"):
            response = http.post(
                "/",
                content=body,
                headers={
                    "X-Amz-Target": "AmazonSQS.SendMessage",
                    "Content-Type": "application/x-amz-json-1.0",
                },
            )
            assert response.status_code == 400, (body, response.text)


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        # Each was a 500 (an AttributeError or TypeError on the member's JSON type) until the
        # API fuzz (tests/security/test_api_fuzz.py) found it.
        ("ChangeMessageVisibilityBatch", {"Entries": [None]}),
        ("DeleteMessageBatch", {"Entries": ["x"]}),
        ("SendMessageBatch", {"Entries": {"Id": "a"}}),
        ("SendMessage", {"MessageBody": "b", "MessageAttributes": {"k": "v"}}),
        ("SendMessage", {"MessageBody": "b", "MessageAttributes": {"k": {"StringValue": 1}}}),
        ("SendMessage", {"MessageBody": ["b"]}),
        ("ReceiveMessage", {"AttributeNames": 5}),
        ("ReceiveMessage", {"MessageAttributeNames": [1]}),
        ("GetQueueAttributes", {"AttributeNames": {"All": 1}}),
        ("SetQueueAttributes", {"Attributes": ["DelaySeconds"]}),
        ("SetQueueAttributes", {"Attributes": {"DelaySeconds": 5}}),
        ("ListQueues", {"NextToken": [False]}),
        ("CreateQueue", {"QueueName": "ok-name", "tags": ["a"]}),
        ("ChangeMessageVisibility", {"ReceiptHandle": "h", "VisibilityTimeout": [1]}),
    ],
)
def test_a_member_of_the_wrong_json_type_is_invalid_parameter_value(
    sqs: Any, server: NimbusServer, operation: str, params: dict[str, Any]
) -> None:
    url = new_queue(sqs)
    with server.http("sqs") as http:  # signed (auth is on): the member is what is wrong
        response = http.post(
            "/",
            content=json.dumps({"QueueUrl": url, **params}),
            headers={
                "X-Amz-Target": f"AmazonSQS.{operation}",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
    assert response.status_code == 400, response.text
    assert response.json()["__type"] == "com.amazonaws.sqs#InvalidParameterValue"
    assert response.headers["x-amzn-query-error"] == "InvalidParameterValue;Sender"
