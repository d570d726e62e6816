"""Asynchronous invocation end to end through boto3 against real servers whose retry delays
are shortened by server settings (NIMBUS_ASYNC_RETRY_DELAYS / NIMBUS_ASYNC_BACKOFF).

Functions report each attempt by sending a message to a built-in queue (AWS_ENDPOINT_URL
points at this Nimbus inside functions), which is how these tests count attempts.
"""

from __future__ import annotations

import gc
import json
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer

REPORTER = """
import json, os, boto3
sqs = boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="us-east-1")
URL = sqs.get_queue_url(QueueName=os.environ["ATTEMPTS_QUEUE"])["QueueUrl"]

def handler(event, context):
    sqs.send_message(QueueUrl=URL, MessageBody=json.dumps(
        {"request_id": context.aws_request_id, "event": event}))
    if event.get("fail"):
        raise ValueError("always fails")
    return {"echo": event}
"""


@pytest.fixture(scope="module")
def fast(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    with NimbusServer(
        data_dir=tmp_path_factory.mktemp("async") / "data",
        env={"NIMBUS_ASYNC_RETRY_DELAYS": "0.2,0.4", "NIMBUS_ASYNC_BACKOFF": "0.05,0.5"},
    ) as instance:
        yield instance


def queue(sqs: Any, prefix: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def drain(sqs: Any, url: str, *, want: int, timeout: float = 20.0) -> list[dict[str, Any]]:
    """Receive (and delete) until ``want`` messages arrived or ``timeout`` passed."""
    bodies: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(bodies) < want and time.monotonic() < deadline:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in page.get("Messages", []):
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def reporter_role(server: NimbusServer, name: str) -> str:
    """An execution role that lets a REPORTER function find its queue and report to it."""
    return server.create_role(f"{name}-role"[:64], ["sqs:GetQueueUrl", "sqs:SendMessage"])


def reporter(server: NimbusServer, name: str, **config: Any) -> tuple[Any, Any, str]:
    lam, sqs = server.client("lambda"), server.client("sqs")
    attempts_url, _ = queue(sqs, "attempts")
    deploy(
        lam,
        name,
        REPORTER,
        Environment={"Variables": {"ATTEMPTS_QUEUE": attempts_url.rsplit("/", 1)[1]}},
        Timeout=10,
        Role=reporter_role(server, name),
        **config,
    )
    return lam, sqs, attempts_url


def test_success_record_reaches_the_on_success_destination(fast: NimbusServer) -> None:
    lam, sqs, attempts = reporter(fast, "async-ok")
    dest_url, dest_arn = queue(sqs, "ok-dest")
    lam.put_function_event_invoke_config(
        FunctionName="async-ok", DestinationConfig={"OnSuccess": {"Destination": dest_arn}}
    )
    response = lam.invoke(FunctionName="async-ok", InvocationType="Event", Payload=b'{"n": 7}')
    assert response["StatusCode"] == 202
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    [record] = drain(sqs, dest_url, want=1)
    assert record["version"] == "1.0"
    assert record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:async-ok:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"n": 7}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"echo": {"n": 7}}
    [attempt] = drain(sqs, attempts, want=1)
    assert attempt["request_id"] == request_id  # the function saw the 202's request id


@pytest.mark.parametrize("retries", [2, 0])
def test_always_failing_function_is_attempted_1_plus_retries_times(
    fast: NimbusServer, retries: int
) -> None:
    name = f"async-fail-{retries}"
    sqs = fast.client("sqs")
    dlq_url, dlq_arn = queue(sqs, "dlq")
    lam, sqs, attempts = reporter(fast, name, DeadLetterConfig={"TargetArn": dlq_arn})
    fail_url, fail_arn = queue(sqs, "on-failure")
    lam.put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=retries,
        DestinationConfig={"OnFailure": {"Destination": fail_arn}},
    )
    response = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"fail": true}')
    request_id = response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    [record] = drain(sqs, fail_url, want=1)
    assert record["requestContext"]["requestId"] == request_id
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 1 + retries
    assert record["requestPayload"] == {"fail": True}
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorType"] == "ValueError"
    # The dead-letter queue gets the original event and Lambda's message attributes.
    dead = sqs.receive_message(QueueUrl=dlq_url, MessageAttributeNames=["All"], WaitTimeSeconds=5)
    [message] = dead["Messages"]
    assert json.loads(message["Body"]) == {"fail": True}
    assert message["MessageAttributes"]["RequestID"]["StringValue"] == request_id
    assert message["MessageAttributes"]["ErrorMessage"]["StringValue"] == "always fails"
    # Exactly 1 + MaximumRetryAttempts attempts, all with the same request id.
    seen = drain(sqs, attempts, want=2 + retries, timeout=2.0)
    assert [a["request_id"] for a in seen] == [request_id] * (1 + retries)


def test_function_and_topic_destinations(fast: NimbusServer) -> None:
    lam, sqs, attempts = reporter(fast, "async-chain")
    _, _, sink_attempts = reporter(fast, "async-chain-sink")
    sns = fast.client("sns")
    topic = sns.create_topic(Name="records")["TopicArn"]
    topic_url, topic_queue = queue(sqs, "from-topic")
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=topic_queue,
        Attributes={"RawMessageDelivery": "true"},
    )
    # A failure record goes to another function, asynchronously (AWS refuses the function
    # itself as its own destination); that function's success record goes to the topic.
    lam.put_function_event_invoke_config(
        FunctionName="async-chain",
        MaximumRetryAttempts=0,
        DestinationConfig={
            "OnFailure": {
                "Destination": "arn:aws:lambda:us-east-1:000000000000:function:async-chain-sink"
            },
        },
    )
    lam.put_function_event_invoke_config(
        FunctionName="async-chain-sink", DestinationConfig={"OnSuccess": {"Destination": topic}}
    )
    lam.invoke(FunctionName="async-chain", InvocationType="Event", Payload=b'{"fail": true}')
    # attempt 1 fails -> its failure record invokes the sink (succeeds) -> the sink's success
    # record is published to the topic -> raw delivery to the queue.
    [record] = drain(sqs, topic_url, want=1)
    assert record["requestContext"]["condition"] == "Success"
    assert record["requestPayload"]["requestContext"]["condition"] == "RetriesExhausted"
    assert [a["event"] for a in drain(sqs, attempts, want=1)] == [{"fail": True}]
    [sunk] = [a["event"] for a in drain(sqs, sink_attempts, want=1)]
    assert sunk["requestContext"]["condition"] == "RetriesExhausted"


# A request in flight when its server is killed can leave botocore/urllib3 holding a socket
# it never closes; the warning comes when that socket is collected (forced below, so it
# cannot surface in a later test).
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
def test_every_accepted_event_survives_kill_9(tmp_path: Path) -> None:
    """A burst of async invokes, kill -9 in the middle of it, restart: every event that got
    a 202 runs at least once."""
    # Few pollers: every cold start imports boto3, and this machine may have two cores.
    server = NimbusServer(
        data_dir=tmp_path / "data",
        env={"NIMBUS_ASYNC_RETRY_DELAYS": "0.2,0.4", "NIMBUS_ASYNC_CONCURRENCY": "8"},
    )
    server.start()
    sqs = server.client("sqs")
    attempts_url, _ = queue(sqs, "crash")
    lam = server.client("lambda")
    deploy(
        lam,
        "crash-fn",
        REPORTER,
        Timeout=30,
        Role=reporter_role(server, "crash-fn"),
        Environment={"Variables": {"ATTEMPTS_QUEUE": attempts_url.rsplit("/", 1)[1]}},
    )
    accepted: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(worker: int) -> None:
        client = server.client("lambda")
        for i in range(1000):
            if stop.is_set():
                return
            try:
                response = client.invoke(
                    FunctionName="crash-fn",
                    InvocationType="Event",
                    Payload=json.dumps({"n": f"{worker}-{i}"}).encode(),
                )
            except Exception:
                return  # the server is gone
            with lock:
                accepted.append(response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"])

    with ThreadPoolExecutor(8) as pool:
        for worker in range(8):
            pool.submit(client_loop, worker)
        while len(accepted) < 300:
            time.sleep(0.01)
        server.kill9()
        stop.set()
    gc.collect()
    acknowledged = set(accepted)
    assert len(acknowledged) >= 300
    server.start()
    try:
        sqs = server.client("sqs")
        seen: set[str] = set()
        deadline = time.monotonic() + 40
        while not acknowledged <= seen and time.monotonic() < deadline:
            seen |= {a["request_id"] for a in drain(sqs, attempts_url, want=500, timeout=1.0)}
        missing = acknowledged - seen
        assert not missing, f"{len(missing)} of {len(acknowledged)} accepted events never ran"
    finally:
        server.stop()


SLOW = "import time\n\ndef handler(event, context):\n    time.sleep(event.get('sleep', 0))\n"


def test_max_event_age_sends_stale_events_to_on_failure(tmp_path: Path) -> None:
    # Retries 61 s apart and a maximum age of 60 s: an event that fails once, or is
    # throttled once, can never be retried in time and goes to OnFailure as too old.
    server = NimbusServer(
        data_dir=tmp_path / "data",
        env={"NIMBUS_ASYNC_RETRY_DELAYS": "61", "NIMBUS_ASYNC_BACKOFF": "61,300"},
    )
    server.start()
    try:
        lam, sqs, attempts = reporter(server, "aged")
        fail_url, fail_arn = queue(sqs, "aged-failure")
        lam.put_function_event_invoke_config(
            FunctionName="aged",
            MaximumEventAgeInSeconds=60,
            DestinationConfig={"OnFailure": {"Destination": fail_arn}},
        )
        lam.invoke(FunctionName="aged", InvocationType="Event", Payload=b'{"fail": true}')
        [record] = drain(sqs, fail_url, want=1)
        assert record["requestContext"]["condition"] == "EventAgeExceeded"
        assert record["requestContext"]["approximateInvokeCount"] == 1
        # Throttled (reserved concurrency 1, held by a slow synchronous invoke): never reaches
        # the function. (Reserved concurrency 0 is not a throttle that ages out: the event is
        # discarded at once as ZeroReservedConcurrency — see test_fidelity_zero_reserved.py.)
        deploy(lam, "aged-slow", SLOW, Timeout=10)
        lam.put_function_concurrency(FunctionName="aged-slow", ReservedConcurrentExecutions=1)
        lam.put_function_event_invoke_config(
            FunctionName="aged-slow",
            MaximumEventAgeInSeconds=60,
            DestinationConfig={"OnFailure": {"Destination": fail_arn}},
        )
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(lam.invoke, FunctionName="aged-slow", Payload=b'{"sleep": 4}')
            time.sleep(1.0)  # the synchronous invoke holds the one slot
            lam.invoke(FunctionName="aged-slow", InvocationType="Event", Payload=b'{"n": 1}')
            [throttled] = drain(sqs, fail_url, want=1)
            assert held.result()["StatusCode"] == 200
        assert throttled["requestContext"]["condition"] == "EventAgeExceeded"
        assert throttled["requestContext"]["approximateInvokeCount"] == 0
        assert throttled["requestPayload"] == {"n": 1}
        assert len(drain(sqs, attempts, want=3, timeout=1.0)) == 1
    finally:
        server.stop()
