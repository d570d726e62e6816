"""The built-in topics through boto3's SNS client (query protocol) against a real server."""

from __future__ import annotations

import json
import uuid
from xml.etree import ElementTree

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


@pytest.mark.parametrize(
    ("form", "code"),
    [
        # Found by the API fuzz (tests/security/test_api_fuzz.py): a 500 (KeyError, then
        # binascii.Error), and an answer whose XML no parser reads (a control character echoed).
        ({"MessageAttributes.entry.1.Value.StringValue": "v"}, "InvalidParameter"),
        (
            {
                "MessageAttributes.entry.1.Name": "k",
                "MessageAttributes.entry.1.Value.DataType": "Binary",
                "MessageAttributes.entry.1.Value.BinaryValue": "not base64!",
            },
            "InvalidParameter",
        ),
        ({"Action": "Pub\x07lish\x00"}, "InvalidAction"),
    ],
)
def test_bad_input_is_a_parseable_xml_error(
    server: NimbusServer, form: dict[str, str], code: str
) -> None:
    topic = server.client("sns").create_topic(Name=f"x-{uuid.uuid4().hex[:8]}")["TopicArn"]
    data = {"Action": "Publish", "TopicArn": topic, "Message": "m", **form}
    with server.http("sns") as http:  # signed (auth is on): the form is what is wrong
        response = http.post("/", data=data)
    assert response.status_code == 400, response.text
    root = ElementTree.fromstring(response.content)  # raises on a character XML cannot carry
    assert root.findtext("Error/Code") == code
