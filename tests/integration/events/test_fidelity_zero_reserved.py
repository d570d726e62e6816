"""An async event for a function whose reserved concurrency is 0 is not retried for six hours:
as on AWS it goes straight to the on-failure destination, with condition
ZeroReservedConcurrency, and to the dead-letter queue (issue 10)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer

NOOP = "def handler(event, context):\n    return event\n"


def make_queue(sqs: Any, prefix: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def receive_one(sqs: Any, url: str, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        for message in page.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            result: dict[str, Any] = message
            return result
    return None


def test_reserved_zero_sends_the_event_to_on_failure_and_dlq_at_once(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    sqs = server.client("sqs")
    failure_url, failure_arn = make_queue(sqs, "zero-failure")
    dlq_url, dlq_arn = make_queue(sqs, "zero-dlq")
    arn = deploy(lam, fname, NOOP, DeadLetterConfig={"TargetArn": dlq_arn})["FunctionArn"]
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=0)
    lam.put_function_event_invoke_config(
        FunctionName=fname, DestinationConfig={"OnFailure": {"Destination": failure_arn}}
    )
    started = time.monotonic()
    accepted = lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"n": 1}')
    assert accepted["StatusCode"] == 202
    request_id = accepted["ResponseMetadata"]["RequestId"]

    # Throttles are otherwise retried with back-off for six hours: "quickly" is the test.
    message = receive_one(sqs, failure_url, timeout=10.0)
    assert message is not None, "no ZeroReservedConcurrency record within 10 s"
    assert time.monotonic() - started < 10.0
    record = json.loads(message["Body"])
    assert record["requestContext"] == {
        "requestId": request_id,
        "functionArn": f"{arn}:$LATEST",
        "condition": "ZeroReservedConcurrency",
        "approximateInvokeCount": 0,
    }
    assert record["requestPayload"] == {"n": 1}
    assert "responseContext" not in record and "responsePayload" not in record

    dead = receive_one(sqs, dlq_url, timeout=10.0)
    assert dead is not None, "the dead-letter queue got nothing"
    assert json.loads(dead["Body"]) == {"n": 1}
    assert dead["MessageAttributes"]["RequestID"]["StringValue"] == request_id

    # Once the reservation is lifted, events run again.
    lam.delete_function_concurrency(FunctionName=fname)
    lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"n": 2}')
    assert receive_one(sqs, failure_url, timeout=2.0) is None
