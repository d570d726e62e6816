"""End to end: recursive loops through queues, topics and destinations are stopped at AWS's
depth. The lineage travels in the trace header: a function's SDK call sends its
``_X_AMZN_TRACE_ID`` as X-Amzn-Trace-Id (botocore), SQS keeps it as the message's
AWSTraceHeader, the mapping invokes with it, SNS delivers with it, destinations send with it.

Issue 12's done-when: a loop of function → queue → mapping → function is stopped after 16
invocations (the 17th is dropped and counted in RecursiveInvocationsDropped), and with
RecursiveLoop=Allow it goes on."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from tests.integration.events.helpers import metrics, new_queue, wait_for
from tests.support import NimbusServer, create_function, make_zip, settle

# Sends each record's body back to QUEUE_URL, one hop further, until the body's limit.
QUEUE_LOOPER = make_zip(
    {
        "app.py": (
            "import json, os, boto3\n"
            "sqs = boto3.client('sqs')\n"
            "def handler(event, context):\n"
            "    for record in event['Records']:\n"
            "        body = json.loads(record['body'])\n"
            "        print('HOP', body['n'])\n"
            "        if body['n'] < body['limit']:\n"
            "            body['n'] += 1\n"
            "            sqs.send_message(QueueUrl=os.environ['QUEUE_URL'],\n"
            "                             MessageBody=json.dumps(body))\n"
        )
    }
)
# Publishes each notification back to its topic, one hop further, until the limit.
TOPIC_LOOPER = make_zip(
    {
        "app.py": (
            "import json, boto3\n"
            "sns = boto3.client('sns')\n"
            "def handler(event, context):\n"
            "    note = event['Records'][0]['Sns']\n"
            "    body = json.loads(note['Message'])\n"
            "    if body['n'] < body['limit']:\n"
            "        body['n'] += 1\n"
            "        sns.publish(TopicArn=note['TopicArn'], Message=json.dumps(body))\n"
        )
    }
)
QUIET = make_zip({"app.py": "def handler(event, context):\n    return {'ok': True}\n"})


@pytest.fixture(scope="module")
def sns(server: NimbusServer) -> Any:
    return server.client("sns")


def queue_loop(
    server: NimbusServer,
    lam: Any,
    sqs: Any,
    fname: str,
    mappings: list[str],
    *,
    limit: int,
    allow: bool = False,
) -> tuple[str, str]:
    """A function mapped to a queue it sends its event back to; returns (queue URL, its
    dead-letter queue's URL). The first message carries no trace header (a client's)."""
    dlq_url, dlq_arn = new_queue(sqs)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url, arn = new_queue(sqs, VisibilityTimeout="2", RedrivePolicy=redrive)
    role = server.create_role(f"{fname}-role"[:64], ["sqs:SendMessage"])
    create_function(
        lam,
        fname,
        code=QUEUE_LOOPER,
        Role=role,
        Timeout=2,
        Environment={"Variables": {"QUEUE_URL": url}},
    )
    settle(lam, fname)
    if allow:
        lam.put_function_recursion_config(FunctionName=fname, RecursiveLoop="Allow")
    created = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname, BatchSize=1)
    mappings.append(created["UUID"])
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"n": 1, "limit": limit}))
    return url, dlq_url


def test_a_function_queue_mapping_loop_is_stopped_after_16_invocations(
    server: NimbusServer, lam: Any, sqs: Any, fname: str, mappings: list[str]
) -> None:
    _url, dlq_url = queue_loop(server, lam, sqs, fname, mappings, limit=40)
    wait_for(server, fname, "RecursiveInvocationsDropped", 1, timeout=40)
    time.sleep(0.5)  # nothing more runs after the stop
    figures = metrics(server, fname)
    assert figures["Invocations"] == 16
    # The stopped message stays in its queue, as after a function error: its redrive policy
    # moves it to the dead-letter queue, with the lineage that stopped it.
    messages = sqs.receive_message(
        QueueUrl=dlq_url, WaitTimeSeconds=10, MessageSystemAttributeNames=["All"]
    )["Messages"]
    [dead] = messages
    assert json.loads(dead["Body"])["n"] == 17
    assert "Lineage=" in dead["Attributes"]["AWSTraceHeader"]
    assert metrics(server, fname)["Invocations"] == 16


def test_allow_lets_a_queue_loop_go_past_16(
    server: NimbusServer, lam: Any, sqs: Any, fname: str, mappings: list[str]
) -> None:
    queue_loop(server, lam, sqs, fname, mappings, limit=20, allow=True)
    wait_for(server, fname, "Invocations", 20, timeout=40)  # the function ends it at 20
    assert metrics(server, fname)["RecursiveInvocationsDropped"] == 0


def test_a_function_topic_loop_is_stopped_after_16_invocations(
    server: NimbusServer, lam: Any, sns: Any, fname: str
) -> None:
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:12]}")["TopicArn"]
    role = server.create_role(f"{fname}-role"[:64], ["sns:Publish"])
    created = create_function(lam, fname, code=TOPIC_LOOPER, Role=role, Timeout=5)
    settle(lam, fname)
    sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=created["FunctionArn"])
    sns.publish(TopicArn=topic, Message=json.dumps({"n": 1, "limit": 40}))
    wait_for(server, fname, "RecursiveInvocationsDropped", 1, timeout=40)
    time.sleep(0.5)
    assert metrics(server, fname)["Invocations"] == 16


def test_a_loop_through_destinations_is_stopped_after_16(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    # No SDK call in either function: A's OnSuccess destination is B, B's is A. Lambda sends
    # each record with the invocation's lineage, which counts both functions' hops.
    other = f"{fname}-b"
    a = create_function(lam, fname, code=QUIET)["FunctionArn"]
    b = create_function(lam, other, code=QUIET)["FunctionArn"]
    settle(lam, fname)
    settle(lam, other)
    for name, target in ((fname, b), (other, a)):
        lam.put_function_event_invoke_config(
            FunctionName=name, DestinationConfig={"OnSuccess": {"Destination": target}}
        )
    lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b"{}")
    wait_for(server, fname, "RecursiveInvocationsDropped", 1, timeout=40)
    time.sleep(0.5)
    assert metrics(server, fname)["Invocations"] == 16
    assert metrics(server, other)["Invocations"] == 16


def test_a_topic_gives_its_publishers_trace_header_to_queue_subscribers(
    sqs: Any, sns: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = sns.create_topic(Name=f"t-{uuid.uuid4().hex[:12]}")["TopicArn"]
    url, arn = new_queue(sqs)
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a87bd80c:3|68fd508a:5"
    # As from inside a function: botocore sends _X_AMZN_TRACE_ID as X-Amzn-Trace-Id.
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "publisher")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", trace)
    sns.publish(TopicArn=topic, Message="hello")
    [message] = sqs.receive_message(
        QueueUrl=url, WaitTimeSeconds=5, MessageSystemAttributeNames=["AWSTraceHeader"]
    )["Messages"]
    assert json.loads(message["Body"])["Message"] == "hello"
    assert message["Attributes"]["AWSTraceHeader"] == trace
