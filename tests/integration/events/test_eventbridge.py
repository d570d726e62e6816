"""EventBridge through boto3's ``events`` client against the session's real server: buses,
rules and targets with AWS's errors, PutEvents through patterns to queue, topic and Lambda
targets (Input, InputPath, InputTransformer), the Lambda permission check with its
dead-letter queue, and the gate's answers in JSON 1.1."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.events.helpers import new_queue
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer, error_of

ACCOUNT = "000000000000"
REGION = "us-east-1"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def eb(server: NimbusServer) -> Any:
    return server.client("events")


def nothing_in(sqs: Any, url: str) -> bool:
    """No message waits in the queue now. PutEvents answers once each target's first
    delivery is done, so what it sent is already there when it has answered."""
    return "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)


def receive(sqs: Any, url: str, *, want: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Up to ``want`` messages (deleted), waiting at most ``timeout`` seconds."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(messages) < want and time.monotonic() < deadline:
        page = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        for message in page.get("Messages", []):
            messages.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def test_buses_rules_and_targets_as_aws_answers(eb: Any, sqs: Any) -> None:
    bus = unique("bus")
    created = eb.create_event_bus(Name=bus, Description="orders")
    bus_arn = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}"
    assert created["EventBusArn"] == bus_arn and created["Description"] == "orders"
    described = eb.describe_event_bus(Name=bus_arn)  # a bus by ARN too
    assert described["Name"] == bus and described["Description"] == "orders"
    assert eb.describe_event_bus()["Name"] == "default"  # always there
    names = [b["Name"] for b in eb.list_event_buses(NamePrefix=bus)["EventBuses"]]
    assert names == [bus]
    with pytest.raises(ClientError) as exc:
        eb.create_event_bus(Name=bus)
    assert error_of(exc) == (
        "ResourceAlreadyExistsException",
        400,
        f"Event bus {bus} already exists.",
    )
    with pytest.raises(ClientError) as exc:
        eb.delete_event_bus(Name="default")
    assert error_of(exc) == ("ValidationException", 400, "Cannot delete event bus default.")

    pattern = json.dumps({"source": ["shop"]})
    for i in range(3):
        arn = eb.put_rule(Name=f"r{i}", EventBusName=bus, EventPattern=pattern)["RuleArn"]
        assert arn == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{bus}/r{i}"
    first = eb.list_rules(EventBusName=bus, Limit=2)
    assert [r["Name"] for r in first["Rules"]] == ["r0", "r1"]
    rest = eb.list_rules(EventBusName=bus, Limit=2, NextToken=first["NextToken"])
    assert [r["Name"] for r in rest["Rules"]] == ["r2"] and "NextToken" not in rest
    paged = eb.get_paginator("list_rules").paginate(
        EventBusName=bus, PaginationConfig={"PageSize": 1}
    )
    assert [r["Name"] for page in paged for r in page["Rules"]] == ["r0", "r1", "r2"]

    eb.disable_rule(Name="r0", EventBusName=bus)
    rule = eb.describe_rule(Name="r0", EventBusName=bus)
    assert rule["State"] == "DISABLED" and rule["EventPattern"] == pattern
    assert rule["EventBusName"] == bus and rule["CreatedBy"] == ACCOUNT
    eb.enable_rule(Name="r0", EventBusName=bus)
    assert eb.describe_rule(Name="r0", EventBusName=bus)["State"] == "ENABLED"

    _, queue_arn = new_queue(sqs)
    put = eb.put_targets(
        Rule="r0",
        EventBusName=bus,
        Targets=[
            {"Id": "q", "Arn": queue_arn, "RetryPolicy": {"MaximumRetryAttempts": 3}},
            {"Id": "k", "Arn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s"},
        ],
    )
    assert put["FailedEntryCount"] == 1 and put["FailedEntries"][0]["TargetId"] == "k"
    [target] = eb.list_targets_by_rule(Rule="r0", EventBusName=bus)["Targets"]
    assert target == {"Id": "q", "Arn": queue_arn, "RetryPolicy": {"MaximumRetryAttempts": 3}}
    with pytest.raises(ClientError) as exc:
        eb.delete_rule(Name="r0", EventBusName=bus)
    assert error_of(exc) == (
        "ValidationException",
        400,
        "Rule can't be deleted since it has targets.",
    )
    removed = eb.remove_targets(Rule="r0", EventBusName=bus, Ids=["q", "nope"])
    assert [f["TargetId"] for f in removed["FailedEntries"]] == ["nope"]
    eb.delete_rule(Name="r0", EventBusName=bus)
    eb.delete_rule(Name="r0", EventBusName=bus)  # gone already: still a success, as on AWS

    refusals: list[tuple[Callable[[], Any], str, str | None]] = [
        (
            lambda: eb.describe_rule(Name="r0", EventBusName=bus),
            "ResourceNotFoundException",
            f"Rule r0 does not exist on EventBus {bus}.",
        ),
        (
            lambda: eb.put_rule(Name="x", EventBusName=bus),
            "ValidationException",
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ),
        (
            lambda: eb.put_rule(Name="x", EventBusName=bus, ScheduleExpression="rate(1 minute)"),
            "ValidationException",
            "ScheduleExpression is supported only on the default event bus.",
        ),
        (
            lambda: eb.put_rule(Name="x", EventPattern='{"source": "shop"}'),
            "InvalidEventPatternException",
            None,
        ),
        (
            lambda: eb.put_rule(Name="x", ScheduleExpression="rate(1 minutes)"),
            "ValidationException",
            None,
        ),
        (
            lambda: eb.put_rule(Name="bad name", EventPattern=pattern),
            "ValidationException",
            "1 validation error detected: Value 'bad name' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+",
        ),
        (
            lambda: eb.list_rules(EventBusName="missing"),
            "ResourceNotFoundException",
            "Event bus missing does not exist.",
        ),
        (
            lambda: eb.put_targets(
                Rule="r1",
                EventBusName=bus,
                Targets=[{"Id": "t", "Arn": queue_arn, "Input": "{}", "InputPath": "$.detail"}],
            ),
            "ValidationException",
            "Only one of Input, InputPath, or InputTransformer must be provided for target t.",
        ),
        (
            lambda: eb.put_targets(
                Rule="r1",
                EventBusName=bus,
                Targets=[
                    {"Id": "t", "Arn": queue_arn, "InputTransformer": {"InputTemplate": '"<nope>"'}}
                ],
            ),
            "ValidationException",
            "InputTemplate for target t contains invalid placeholder nope.",
        ),
        (
            lambda: eb.put_targets(
                Rule="r1", EventBusName=bus, Targets=[{"Id": "t", "Arn": "not-an-arn"}]
            ),
            "ValidationException",
            "Parameter not-an-arn is not valid. Reason: Provided Arn is not in correct format.",
        ),
    ]
    for call, code, message in refusals:
        with pytest.raises(ClientError) as exc:
            call()
        got_code, status, got_message = error_of(exc)
        assert (got_code, status) == (code, 400), got_message
        assert message is None or got_message == message
        assert got_message  # says what to fix
    eb.delete_event_bus(Name=bus)  # its rules go with it
    eb.delete_event_bus(Name=bus)  # and again: a success
    assert bus not in [b["Name"] for b in eb.list_event_buses()["EventBuses"]]


def test_put_events_delivers_matching_events_to_queue_and_topic_targets(
    server: NimbusServer, eb: Any, sqs: Any
) -> None:
    sns = server.client("sns")
    rule = unique("orders")
    eb.put_rule(
        Name=rule,
        EventPattern=json.dumps(
            {"source": ["shop"], "detail": {"total": [{"numeric": [">", 10]}]}}
        ),
    )
    whole_url, whole = new_queue(sqs)
    path_url, path = new_queue(sqs)
    shaped_url, shaped = new_queue(sqs)
    fixed_url, fixed = new_queue(sqs)
    fan_url, fan = new_queue(sqs)
    topic = sns.create_topic(Name=unique("t"))["TopicArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=fan, Attributes={"RawMessageDelivery": "true"}
    )
    eb.put_targets(
        Rule=rule,
        Targets=[
            {"Id": "whole", "Arn": whole},
            {"Id": "path", "Arn": path, "InputPath": "$.detail.items[0]"},
            {
                "Id": "shaped",
                "Arn": shaped,
                "InputTransformer": {
                    "InputPathsMap": {"total": "$.detail.total", "kind": "$.detail-type"},
                    "InputTemplate": (
                        '{"order": <total>, "what": "a <kind>", "rule": <aws.events.rule-name>}'
                    ),
                },
            },
            {"Id": "fixed", "Arn": fixed, "Input": '{"constant": true}'},
        ],
    )
    eb.put_targets(Rule=rule, Targets=[{"Id": "topic", "Arn": topic}])
    detail = {"total": 42, "items": [{"sku": "a"}]}
    result = eb.put_events(
        Entries=[
            {
                "Source": "shop",
                "DetailType": "Order Placed",
                "Detail": json.dumps(detail),
                "Resources": ["arn:aws:shop:::order/1"],
            },
            {"Source": "shop", "DetailType": "Order Placed", "Detail": json.dumps({"total": 3})},
            {"Source": "shop", "DetailType": "x", "Detail": "[1]"},
        ]
    )
    assert result["FailedEntryCount"] == 1
    matched_id = result["Entries"][0]["EventId"]
    assert result["Entries"][2] == {
        "ErrorCode": "MalformedDetail",
        "ErrorMessage": "Detail is malformed.",
    }
    [message] = receive(sqs, whole_url)
    event = json.loads(message["Body"])
    assert event["id"] == matched_id and event["version"] == "0"
    assert (event["source"], event["detail-type"], event["detail"]) == (
        "shop",
        "Order Placed",
        detail,
    )
    assert (event["account"], event["region"]) == (ACCOUNT, REGION)
    assert event["resources"] == ["arn:aws:shop:::order/1"] and event["time"].endswith("Z")
    assert [json.loads(m["Body"]) for m in receive(sqs, path_url)] == [{"sku": "a"}]
    assert [json.loads(m["Body"]) for m in receive(sqs, shaped_url)] == [
        {"order": 42, "what": "a Order Placed", "rule": rule}
    ]
    assert [m["Body"] for m in receive(sqs, fixed_url)] == ['{"constant": true}']
    [published] = receive(sqs, fan_url)
    assert json.loads(published["Body"])["id"] == matched_id
    # The second entry (total 3) matched nothing: only one message reached each target.
    assert nothing_in(sqs, whole_url)

    eb.disable_rule(Name=rule)
    entry = {"Source": "shop", "DetailType": "Order Placed", "Detail": json.dumps(detail)}
    eb.put_events(Entries=[entry])
    assert nothing_in(sqs, whole_url)
    eb.enable_rule(Name=rule)
    eb.put_events(Entries=[entry])
    assert len(receive(sqs, whole_url)) == 1


def test_a_lambda_target_is_invoked_only_when_its_policy_allows_events(
    server: NimbusServer, lam: Any, eb: Any, sqs: Any, fname: str
) -> None:
    deploy(lam, fname, "def handler(event, context):\n    return event\n")
    done_url, done = new_queue(sqs)
    lam.put_function_event_invoke_config(
        FunctionName=fname, DestinationConfig={"OnSuccess": {"Destination": done}}
    )
    rule = unique("to-lambda")
    rule_arn = eb.put_rule(Name=rule, EventPattern=json.dumps({"source": [rule]}))["RuleArn"]
    dlq_url, dlq = new_queue(sqs)
    function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fname}"
    eb.put_targets(
        Rule=rule, Targets=[{"Id": "fn", "Arn": function_arn, "DeadLetterConfig": {"Arn": dlq}}]
    )
    entry = {"Source": rule, "DetailType": "ping", "Detail": '{"n": 1}'}

    first = eb.put_events(Entries=[entry])["Entries"][0]["EventId"]
    [dead] = receive(sqs, dlq_url)  # no permission yet: to the rule's DLQ, not retried
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == "NO_PERMISSIONS"
    assert attributes["RULE_ARN"] == rule_arn and attributes["TARGET_ARN"] == function_arn
    assert attributes["RETRY_ATTEMPTS"] == "0" and "add-permission" in attributes["ERROR_MESSAGE"]
    assert json.loads(dead["Body"])["id"] == first

    lam.add_permission(
        FunctionName=fname,
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=rule_arn,
    )
    second = eb.put_events(Entries=[entry])["Entries"][0]["EventId"]
    [record] = [json.loads(m["Body"]) for m in receive(sqs, done_url, timeout=30)]
    assert record["requestPayload"]["id"] == second  # the envelope, invoked asynchronously
    assert record["requestPayload"]["detail"] == {"n": 1}
    assert nothing_in(sqs, dlq_url)


def test_the_gate_answers_in_json_1_1(server: NimbusServer, eb: Any) -> None:
    headers = {"X-Amz-Target": "AWSEvents.ListRules", "Content-Type": "application/x-amz-json-1.1"}
    with server.http("events") as http:
        for body, target, code in [
            (b"{not json", "AWSEvents.ListRules", "SerializationException"),
            (b'{"Limit": "ten"}', "AWSEvents.ListRules", "SerializationException"),
            (b'{"Limit": 0}', "AWSEvents.ListRules", "ValidationException"),
            (b"{}", "AWSEvents.Nope", "UnknownOperationException"),
        ]:
            response = http.post("/", content=body, headers={**headers, "X-Amz-Target": target})
            assert response.status_code == 400, response.text
            assert response.headers["content-type"] == "application/x-amz-json-1.1"
            assert response.json()["__type"] == code and response.json()["message"]
    iam = server.client("iam")
    user = unique("eb-user")
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    iam.put_user_policy(
        UserName=user,
        PolicyName="rules",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["events:PutRule", "events:PutTargets"],
                        "Resource": "*",
                    }
                ],
            }
        ),
    )
    as_user = server.client(
        "events", access_key_id=key["AccessKeyId"], secret_access_key=key["SecretAccessKey"]
    )
    rule = unique("mine")
    as_user.put_rule(Name=rule, EventPattern='{"source": ["x"]}')
    denied: list[Callable[[], Any]] = [
        lambda: as_user.describe_rule(Name=rule),
        # Sending to a queue is the caller's to allow too (no sqs:SendMessage here).
        lambda: as_user.put_targets(
            Rule=rule, Targets=[{"Id": "q", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:someone"}]
        ),
    ]
    for call in denied:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("AccessDeniedException", 400)
    eb.delete_rule(Name=rule)
