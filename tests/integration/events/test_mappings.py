"""End to end: event source mappings from built-in SQS queues, through boto3 against a real
server — CRUD with AWS's shapes and errors, batches delivered to a function, partial batch
responses, a function error leaving its messages for the queue's redrive policy — and the
AWSTraceHeader system attribute that carries a loop's lineage through a queue."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.events.helpers import new_queue
from tests.support import NimbusServer, create_function, error_of, make_zip, settle

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"

ECHO = make_zip({"app.py": "def handler(event, context):\n    return None\n"})
# Reports each batch (its bodies and first record) to the queue named by REPORT_URL, then
# fails items whose body is "fail-item" (ReportBatchItemFailures) or raises on "raise".
REPORTER = make_zip(
    {
        "app.py": (
            "import json, os, boto3\n"
            "sqs = boto3.client('sqs')\n"
            "def handler(event, context):\n"
            "    records = event['Records']\n"
            "    sqs.send_message(QueueUrl=os.environ['REPORT_URL'], MessageBody=json.dumps(\n"
            "        {'bodies': [r['body'] for r in records], 'first': records[0]}))\n"
            "    if any(r['body'] == 'raise' for r in records):\n"
            "        raise RuntimeError('batch failed')\n"
            "    return {'batchItemFailures': [{'itemIdentifier': r['messageId']}\n"
            "                                  for r in records if r['body'] == 'fail-item']}\n"
        )
    }
)


@pytest.fixture(scope="module")
def reporter_role(server: NimbusServer) -> str:
    return server.create_role(f"esm-reporter-{uuid.uuid4().hex[:8]}", ["sqs:SendMessage"])


def drain(sqs: Any, url: str, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    """Receive (and delete) ``count`` messages, waiting at most ``timeout`` seconds."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        assert time.monotonic() < deadline, got
        page = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageSystemAttributeNames=["All"],
        ).get("Messages", [])
        for message in page:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        got += page
    return got


# --- CRUD --------------------------------------------------------------------------------


def test_create_get_list_update_delete_with_aws_shapes(
    lam: Any, sqs: Any, fname: str, mappings: list[str]
) -> None:
    create_function(lam, fname, code=ECHO)
    _url, arn = new_queue(sqs)
    created = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fname, BatchSize=5, Enabled=False
    )
    mappings.append(created["UUID"])
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert created["State"] == "Disabled"
    assert created["EventSourceArn"] == arn
    assert created["FunctionArn"].endswith(f":function:{fname}")
    assert created["BatchSize"] == 5
    assert created["MaximumBatchingWindowInSeconds"] == 0
    assert created["StateTransitionReason"] == "USER_INITIATED"
    assert created["EventSourceMappingArn"].endswith(f":event-source-mapping:{created['UUID']}")

    got = lam.get_event_source_mapping(UUID=created["UUID"])
    assert got["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert (got["UUID"], got["State"], got["BatchSize"]) == (created["UUID"], "Disabled", 5)
    by_function = lam.list_event_source_mappings(FunctionName=fname)["EventSourceMappings"]
    assert [m["UUID"] for m in by_function] == [created["UUID"]]
    by_source = lam.list_event_source_mappings(EventSourceArn=arn)["EventSourceMappings"]
    assert [m["UUID"] for m in by_source] == [created["UUID"]]

    updated = lam.update_event_source_mapping(
        UUID=created["UUID"],
        Enabled=True,
        BatchSize=20,
        MaximumBatchingWindowInSeconds=2,
        FunctionResponseTypes=["ReportBatchItemFailures"],
        ScalingConfig={"MaximumConcurrency": 2},
    )
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert updated["State"] == "Enabling"
    got = lam.get_event_source_mapping(UUID=created["UUID"])
    assert got["State"] == "Enabled"
    assert (got["BatchSize"], got["MaximumBatchingWindowInSeconds"]) == (20, 2)
    assert got["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert got["ScalingConfig"] == {"MaximumConcurrency": 2}

    deleted = lam.delete_event_source_mapping(UUID=created["UUID"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 202
    assert deleted["State"] == "Deleting"
    with pytest.raises(ClientError) as exc:
        lam.get_event_source_mapping(UUID=created["UUID"])
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    assert lam.list_event_source_mappings(FunctionName=fname)["EventSourceMappings"] == []


def test_create_refuses_what_aws_refuses(
    lam: Any, sqs: Any, fname: str, mappings: list[str]
) -> None:
    create_function(lam, fname, code=ECHO, Timeout=10)
    _url, arn = new_queue(sqs, VisibilityTimeout="30")
    missing_queue = arn.rsplit(":", 1)[0] + ":no-such-queue"
    cases: list[tuple[dict[str, Any], str, int, str]] = [
        ({"FunctionName": "no-such-function"}, "ResourceNotFoundException", 404, "Function"),
        (
            {"EventSourceArn": missing_queue},
            "InvalidParameterValueException",
            400,
            "does not exist",
        ),
        ({"BatchSize": 10_001}, "ValidationException", 400, "batchSize"),
        ({"BatchSize": 11}, "InvalidParameterValueException", 400, "batch window"),
        ({"MaximumBatchingWindowInSeconds": 301}, "ValidationException", 400, "Window"),
        ({"FunctionResponseTypes": ["Sometimes"]}, "ValidationException", 400, "enum"),
        ({"ScalingConfig": {"MaximumConcurrency": 1001}}, "ValidationException", 400, "1000"),
        ({"EventSourceArn": "not-an-arn"}, "ValidationException", 400, "eventSourceArn"),
    ]
    for overrides, code, status, says in cases:
        params = {"EventSourceArn": arn, "FunctionName": fname, **overrides}
        with pytest.raises(ClientError) as exc:
            lam.create_event_source_mapping(**params)
        assert error_of(exc)[:2] == (code, status), overrides
        assert says in error_of(exc)[2], (overrides, error_of(exc))

    # The queue's visibility timeout must cover the function's timeout.
    _short_url, short = new_queue(sqs, VisibilityTimeout="5")
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(EventSourceArn=short, FunctionName=fname)
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    assert "visibility timeout" in error_of(exc)[2]

    # One mapping per queue and function.
    first = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname, Enabled=False)
    mappings.append(first["UUID"])
    with pytest.raises(ClientError) as exc:
        lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=fname)
    assert error_of(exc)[:2] == ("ResourceConflictException", 409)
    assert first["UUID"] in error_of(exc)[2]

    unknown = str(uuid.uuid4())
    for operation, extra in (
        ("get_event_source_mapping", {}),
        ("update_event_source_mapping", {"BatchSize": 1}),
        ("delete_event_source_mapping", {}),
    ):
        with pytest.raises(ClientError) as exc:
            getattr(lam, operation)(UUID=unknown, **extra)
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        lam.update_event_source_mapping(UUID=first["UUID"], BatchSize=10_001)
    assert error_of(exc)[:2] == ("ValidationException", 400)


# --- delivery ----------------------------------------------------------------------------


def test_messages_reach_the_function_in_batches_and_are_deleted(
    lam: Any, sqs: Any, fname: str, reporter_role: str, mappings: list[str]
) -> None:
    report_url, _ = new_queue(sqs)
    url, arn = new_queue(sqs, VisibilityTimeout="10")
    create_function(
        lam,
        fname,
        code=REPORTER,
        Role=reporter_role,
        Timeout=10,
        Environment={"Variables": {"REPORT_URL": report_url}},
    )
    settle(lam, fname)
    sent = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {
                "Id": f"m{i}",
                "MessageBody": f"body-{i}",
                "MessageAttributes": {"kind": {"DataType": "String", "StringValue": "job"}},
            }
            for i in range(6)
        ],
    )
    assert len(sent["Successful"]) == 6
    created = lam.create_event_source_mapping(
        EventSourceArn=arn, FunctionName=fname, BatchSize=3, MaximumBatchingWindowInSeconds=1
    )
    mappings.append(created["UUID"])
    reports = [json.loads(m["Body"]) for m in drain(sqs, report_url, 2)]
    bodies = sorted(b for report in reports for b in report["bodies"])
    assert bodies == sorted(f"body-{i}" for i in range(6))
    assert all(len(report["bodies"]) <= 3 for report in reports)
    record = reports[0]["first"]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == arn
    assert record["awsRegion"] == "us-east-1"
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"] == {
        "stringValue": "job",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    # Delivered batches are deleted: nothing comes back after the visibility timeout.
    time.sleep(0.5)
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_failed_items_and_failed_batches_stay_for_the_redrive_policy(
    lam: Any, sqs: Any, fname: str, reporter_role: str, mappings: list[str]
) -> None:
    report_url, _ = new_queue(sqs)
    dlq_url, dlq_arn = new_queue(sqs)
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url, arn = new_queue(sqs, VisibilityTimeout="1", RedrivePolicy=redrive)
    create_function(
        lam,
        fname,
        code=REPORTER,
        Role=reporter_role,
        Timeout=1,
        Environment={"Variables": {"REPORT_URL": report_url}},
    )
    settle(lam, fname)
    for body in ("ok-1", "fail-item", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    created = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=fname,
        BatchSize=3,
        MaximumBatchingWindowInSeconds=1,
        FunctionResponseTypes=["ReportBatchItemFailures"],
    )
    mappings.append(created["UUID"])
    # Only the failed item is left: after its visibility timeout, the queue's redrive
    # policy moves it to the dead-letter queue (received once = maxReceiveCount).
    [dead] = drain(sqs, dlq_url, 1)
    assert dead["Body"] == "fail-item"
    assert dead["Attributes"]["DeadLetterQueueSourceArn"] == arn
    sqs.send_message(QueueUrl=url, MessageBody="raise")
    [dead] = drain(sqs, dlq_url, 1)
    assert dead["Body"] == "raise"
    reports = drain(sqs, report_url, 2)
    delivered = sorted(b for m in reports for b in json.loads(m["Body"])["bodies"])
    assert {"ok-1", "ok-2", "fail-item", "raise"} <= set(delivered)
    assert delivered.count("ok-1") == 1  # a successful item is deleted, not delivered again


# --- AWSTraceHeader ----------------------------------------------------------------------


def test_the_trace_header_system_attribute_is_stored_and_returned(sqs: Any) -> None:
    url, _ = new_queue(sqs)
    sent = sqs.send_message(
        QueueUrl=url,
        MessageBody="traced",
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}},
    )
    assert len(sent["MD5OfMessageSystemAttributes"]) == 32
    plain = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"][0]
    assert "Attributes" not in plain
    for names in (["AWSTraceHeader"], ["All"]):
        [message] = sqs.receive_message(
            QueueUrl=url, VisibilityTimeout=0, MessageSystemAttributeNames=names
        )["Messages"]
        assert message["Attributes"]["AWSTraceHeader"] == TRACE
    [legacy] = sqs.receive_message(QueueUrl=url, VisibilityTimeout=0, AttributeNames=["All"])[
        "Messages"
    ]
    assert legacy["Attributes"]["AWSTraceHeader"] == TRACE
    [other] = sqs.receive_message(
        QueueUrl=url, VisibilityTimeout=0, MessageSystemAttributeNames=["SenderId"]
    )["Messages"]
    assert "AWSTraceHeader" not in other["Attributes"]


def test_a_batch_entrys_trace_header_and_bad_system_attributes(sqs: Any) -> None:
    url, _ = new_queue(sqs)
    header = {"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}}
    result = sqs.send_message_batch(
        QueueUrl=url,
        Entries=[
            {"Id": "traced", "MessageBody": "a", "MessageSystemAttributes": header},
            {"Id": "plain", "MessageBody": "b"},
            {
                "Id": "bad",
                "MessageBody": "c",
                "MessageSystemAttributes": {
                    "AWSTraceHeader": {"DataType": "Number", "StringValue": "1"}
                },
            },
        ],
    )
    assert sorted(e["Id"] for e in result["Successful"]) == ["plain", "traced"]
    traced = next(e for e in result["Successful"] if e["Id"] == "traced")
    assert "MD5OfMessageSystemAttributes" in traced
    [failed] = result["Failed"]
    assert (failed["Id"], failed["Code"], failed["SenderFault"]) == (
        "bad",
        "InvalidParameterValue",
        True,
    )
    got = drain(sqs, url, 2)
    headers = {m["Body"]: m.get("Attributes", {}).get("AWSTraceHeader") for m in got}
    assert headers == {"a": TRACE, "b": None}

    for system in (
        {"SenderId": {"DataType": "String", "StringValue": "x"}},
        {"AWSTraceHeader": {"DataType": "Binary", "BinaryValue": b"x"}},
        {"AWSTraceHeader": {"DataType": "String", "StringValue": ""}},
    ):
        with pytest.raises(ClientError) as exc:
            sqs.send_message(QueueUrl=url, MessageBody="x", MessageSystemAttributes=system)
        assert exc.value.response["Error"]["QueryErrorCode"] == "InvalidParameterValue"
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_function_environments_trace_id_becomes_the_messages_header(
    sqs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What a function's SDK call does: botocore's recursion detection handler sends
    # _X_AMZN_TRACE_ID as X-Amzn-Trace-Id (URL-quoted) when AWS_LAMBDA_FUNCTION_NAME is set.
    url, _ = new_queue(sqs)
    lineage = TRACE + ";Lineage=a87bd80c:1|68fd508a:5"
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "sender")
    monkeypatch.setenv("_X_AMZN_TRACE_ID", lineage)
    sent = sqs.send_message(QueueUrl=url, MessageBody="from-a-function")
    assert "MD5OfMessageSystemAttributes" not in sent
    [message] = sqs.receive_message(QueueUrl=url, MessageSystemAttributeNames=["AWSTraceHeader"])[
        "Messages"
    ]
    assert message["Attributes"]["AWSTraceHeader"] == lineage


@pytest.mark.parametrize(
    "body",
    [
        {"EventSourceArn": 5, "FunctionName": "f"},
        {"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q", "FunctionName": ["f"]},
        {"FunctionName": "f"},
        {"EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q"},
        {
            "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q",
            "FunctionName": "f",
            "BatchSize": "10",
        },
        {
            "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q",
            "FunctionName": "f",
            "Enabled": "yes",
        },
        {
            "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q",
            "FunctionName": "f",
            "ScalingConfig": [2],
        },
        {
            "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q",
            "FunctionName": "f",
            "FilterCriteria": {"Filters": [{"Pattern": 5}]},
        },
        {
            "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q",
            "FunctionName": "f",
            "Tags": {"a": 1},
        },
        {"EventSourceArn": "arn:aws:kinesis:us-east-1:000000000000:stream/s", "FunctionName": "f"},
        {
            "EventSourceArn": "arn:aws:sqs:us-east-1:000000000000:q",
            "FunctionName": "f",
            "StartingPosition": "LATEST",
        },
    ],
)
def test_a_malformed_create_is_a_4xx_in_lambdas_shape(server: NimbusServer, body: Any) -> None:
    with server.http() as http:  # signed: the body is what is wrong
        response = http.post("/2015-03-31/event-source-mappings/", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["x-amzn-errortype"].endswith("Exception"), response.headers
    assert "message" in response.json() or "Message" in response.json()
