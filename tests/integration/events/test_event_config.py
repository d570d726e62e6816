"""Put/Get/Update/Delete/ListFunctionEventInvokeConfigs through boto3, and InvokeAsync."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import deploy

NOOP = "def handler(event, context):\n    return event\n"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:somewhere"
TOPIC = "arn:aws:sns:us-east-1:000000000000:topic"


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_put_get_update_list_delete(server: Any, lam: Any, fname: str) -> None:
    # Destinations must exist (AWS refuses others).
    server.client("sqs").create_queue(QueueName=QUEUE.rsplit(":", 1)[1])
    server.client("sns").create_topic(Name=TOPIC.rsplit(":", 1)[1])
    deploy(lam, fname, NOOP)
    lam.publish_version(FunctionName=fname)
    put = lam.put_function_event_invoke_config(
        FunctionName=fname,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": QUEUE}},
    )
    assert put["FunctionArn"].endswith(f"function:{fname}:$LATEST")
    assert put["MaximumRetryAttempts"] == 1
    assert "MaximumEventAgeInSeconds" not in put
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {"Destination": QUEUE}}
    got = lam.get_function_event_invoke_config(FunctionName=fname)
    assert got["MaximumRetryAttempts"] == 1 and got["LastModified"]
    updated = lam.update_function_event_invoke_config(
        FunctionName=fname,
        MaximumEventAgeInSeconds=120,
        DestinationConfig={"OnSuccess": {"Destination": TOPIC}},
    )
    assert updated["MaximumRetryAttempts"] == 1  # kept
    assert updated["MaximumEventAgeInSeconds"] == 120
    assert updated["DestinationConfig"] == {
        "OnSuccess": {"Destination": TOPIC},
        "OnFailure": {"Destination": QUEUE},
    }
    # Put replaces everything: what is left out is removed.
    replaced = lam.put_function_event_invoke_config(FunctionName=fname, MaximumRetryAttempts=0)
    assert replaced["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}
    assert "MaximumEventAgeInSeconds" not in replaced
    lam.put_function_event_invoke_config(FunctionName=fname, Qualifier="1", MaximumRetryAttempts=2)
    listed = lam.list_function_event_invoke_configs(FunctionName=fname)
    arns = [c["FunctionArn"] for c in listed["FunctionEventInvokeConfigs"]]
    assert [a.rsplit(":", 1)[1] for a in arns] == ["$LATEST", "1"]
    page = lam.list_function_event_invoke_configs(FunctionName=fname, MaxItems=1)
    assert len(page["FunctionEventInvokeConfigs"]) == 1 and page["NextMarker"]
    lam.delete_function_event_invoke_config(FunctionName=fname, Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fname, Qualifier="1")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.delete_function_event_invoke_config(FunctionName=fname, Qualifier="1")


def test_validation(lam: Any, fname: str) -> None:
    deploy(lam, fname, NOOP)
    with pytest.raises(ClientError) as exc:
        lam.put_function_event_invoke_config(
            FunctionName=fname, DestinationConfig={"OnSuccess": {"Destination": "arn:aws:s3:::b"}}
        )
    assert code(exc) == "InvalidParameterValueException"
    with pytest.raises(ClientError) as exc:
        lam.put_function_event_invoke_config(
            FunctionName=fname,
            DestinationConfig={
                "OnFailure": {"Destination": "arn:aws:lambda:us-east-1:000000000000:layer:x"}
            },
        )
    assert code(exc) == "InvalidParameterValueException"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(FunctionName="no-such-fn", MaximumRetryAttempts=1)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.put_function_event_invoke_config(
            FunctionName=fname, Qualifier="42", MaximumRetryAttempts=1
        )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fname)


def test_range_checks_over_http(server: Any, fname: str, lam: Any) -> None:
    deploy(lam, fname, NOOP)
    url = f"/2019-09-25/functions/{fname}/event-invoke-config"
    with server.http() as http:  # signed (auth is on): the values are what is wrong
        for body in (
            {"MaximumRetryAttempts": 3},
            {"MaximumEventAgeInSeconds": 59},
            {"MaximumEventAgeInSeconds": 21601},
        ):
            response = http.put(url, json=body)
            assert response.status_code == 400, (body, response.text)
            assert response.headers["x-amzn-errortype"] == "InvalidParameterValueException"


def test_invoke_async_and_event_limits(lam: Any, fname: str) -> None:
    deploy(lam, fname, NOOP)
    assert lam.invoke_async(FunctionName=fname, InvokeArgs=b'{"a": 1}')["Status"] == 202
    accepted = lam.invoke(FunctionName=fname, InvocationType="Event", Payload=b'{"a": 1}')
    assert accepted["StatusCode"] == 202
    assert accepted["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]
    # No payload, as on AWS (read, so the connection goes back to the client's pool).
    assert accepted["Payload"].read() == b""
    with pytest.raises(ClientError) as exc:
        lam.invoke(
            FunctionName=fname,
            InvocationType="Event",
            Payload=b'{"a": "' + b"x" * 1_048_576 + b'"}',
        )
    assert code(exc) == "RequestTooLargeException"
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName="no-such-fn-async", InvocationType="Event", Payload=b"{}")
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.invoke(FunctionName=fname, Qualifier="7", InvocationType="Event", Payload=b"{}")
