"""The built-in topics through boto3's SNS client (query protocol) against a real server."""

from __future__ import annotations

import json
import uuid

import pytest
from botocore.exceptions import ClientError

from tests.support import NimbusServer


def test_topic_fans_out_to_queues(server: NimbusServer) -> None:
    sns, sqs = server.client("sns"), server.client("sqs")
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:8]}")["TopicArn"]
    assert topic in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    urls = [sqs.create_queue(QueueName=f"fan-{uuid.uuid4().hex[:8]}")["QueueUrl"] for _ in "ab"]
    arns = [
        sqs.get_queue_attributes(QueueUrl=u, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for u in urls
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arns[0])
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arns[1],
        Attributes={"RawMessageDelivery": "true"},
    )
    subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sorted(s["Endpoint"] for s in subs) == sorted(arns)
    message_id = sns.publish(
        TopicArn=topic,
        Message="hello",
        Subject="greeting",
        MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}},
    )["MessageId"]
    envelope = json.loads(sqs.receive_message(QueueUrl=urls[0])["Messages"][0]["Body"])
    assert envelope["Type"] == "Notification"
    assert envelope["MessageId"] == message_id
    assert envelope["TopicArn"] == topic
    assert envelope["Message"] == "hello"
    assert envelope["Subject"] == "greeting"
    assert envelope["MessageAttributes"] == {"k": {"Type": "String", "Value": "v"}}
    raw = sqs.receive_message(QueueUrl=urls[1], MessageAttributeNames=["All"])["Messages"][0]
    assert raw["Body"] == "hello"
    assert raw["MessageAttributes"]["k"]["StringValue"] == "v"
    sns.delete_topic(TopicArn=topic)
    assert topic not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]


def test_errors(server: NimbusServer) -> None:
    sns = server.client("sns")
    with pytest.raises(sns.exceptions.NotFoundException):
        sns.publish(TopicArn="arn:aws:sns:us-east-1:000000000000:missing", Message="x")
    topic = sns.create_topic(Name=f"e-{uuid.uuid4().hex[:8]}")["TopicArn"]
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="a@example.com")
    assert exc.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn=topic, Message="")
    assert exc.value.response["Error"]["Code"] == "InvalidParameter"
