"""Event invoke config writes answer as AWS does (issue 10): a destination that does not
exist, the function as its own destination, a write that sets nothing, an Update with nothing
to update. Messages are AWS's, as recorded in LocalStack's AWS-validated snapshots."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer, error_of

NOOP = "def handler(event, context):\n    return event\n"
HERE = "us-east-1:000000000000"
NOTHING = "You must specify at least one of error handling or destination setting."
ITSELF = "You can't specify the function as a destination for itself."


def invalid(arn: str) -> tuple[str, int, str]:
    return "InvalidParameterValueException", 400, f"The destination ARN {arn} is invalid."


@pytest.mark.parametrize(
    "missing",
    [
        f"arn:aws:sqs:{HERE}:no-such-queue",
        f"arn:aws:sns:{HERE}:no-such-topic",
        f"arn:aws:lambda:{HERE}:function:no-such-function",
    ],
)
def test_a_destination_that_does_not_exist_is_refused(lam: Any, fname: str, missing: str) -> None:
    deploy(lam, fname, NOOP)
    for which in ("OnSuccess", "OnFailure"):
        with pytest.raises(ClientError) as exc:
            lam.put_function_event_invoke_config(
                FunctionName=fname, DestinationConfig={which: {"Destination": missing}}
            )
        assert error_of(exc) == invalid(missing)
    # Nothing was written.
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fname)


def test_destinations_that_exist_are_accepted_and_update_checks_them_too(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    sqs, sns = server.client("sqs"), server.client("sns")
    url = sqs.create_queue(QueueName=f"fid-{uuid.uuid4().hex[:10]}")["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    topic = sns.create_topic(Name=f"fid-{uuid.uuid4().hex[:10]}")["TopicArn"]
    other = deploy(lam, f"{fname}-other", NOOP)["FunctionArn"]
    deploy(lam, fname, NOOP)
    put = lam.put_function_event_invoke_config(
        FunctionName=fname,
        DestinationConfig={
            "OnSuccess": {"Destination": topic},
            "OnFailure": {"Destination": queue},
        },
    )
    assert put["DestinationConfig"] == {
        "OnSuccess": {"Destination": topic},
        "OnFailure": {"Destination": queue},
    }
    updated = lam.update_function_event_invoke_config(
        FunctionName=fname, DestinationConfig={"OnSuccess": {"Destination": other}}
    )
    assert updated["DestinationConfig"]["OnSuccess"] == {"Destination": other}
    # A queue deleted since cannot be chosen again, and Update refuses it without a change.
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as exc:
        lam.update_function_event_invoke_config(
            FunctionName=fname, DestinationConfig={"OnFailure": {"Destination": queue}}
        )
    assert error_of(exc) == invalid(queue)
    kept = lam.get_function_event_invoke_config(FunctionName=fname)
    assert kept["DestinationConfig"]["OnSuccess"] == {"Destination": other}


def test_the_function_itself_is_not_a_destination(lam: Any, fname: str) -> None:
    arn = deploy(lam, fname, NOOP)["FunctionArn"]
    lam.publish_version(FunctionName=fname)
    for destination in (arn, f"{arn}:1", f"{arn}:$LATEST"):
        with pytest.raises(ClientError) as exc:
            lam.put_function_event_invoke_config(
                FunctionName=fname, DestinationConfig={"OnFailure": {"Destination": destination}}
            )
        assert error_of(exc) == ("InvalidParameterValueException", 400, ITSELF)
    lam.put_function_event_invoke_config(FunctionName=fname, MaximumRetryAttempts=1)
    with pytest.raises(ClientError) as exc:
        lam.update_function_event_invoke_config(
            FunctionName=fname, DestinationConfig={"OnSuccess": {"Destination": arn}}
        )
    assert error_of(exc) == ("InvalidParameterValueException", 400, ITSELF)


def test_a_write_that_sets_nothing_is_refused(server: NimbusServer, lam: Any, fname: str) -> None:
    deploy(lam, fname, NOOP)
    for operation in (
        lam.put_function_event_invoke_config,
        lam.update_function_event_invoke_config,
    ):
        # Before the function is looked up: a 400 even for a function that does not exist.
        for name in (fname, "no-such-function"):
            with pytest.raises(ClientError) as exc:
                operation(FunctionName=name)
            assert error_of(exc) == ("InvalidParameterValueException", 400, NOTHING)
    # JSON nulls are "not set" too.
    url = f"/2019-09-25/functions/{fname}/event-invoke-config"
    with server.http() as http:  # signed (auth is on): the nulls are what is wrong
        response = http.put(url, json={"MaximumRetryAttempts": None, "DestinationConfig": None})
    assert response.status_code == 400
    assert response.json()["message"] == NOTHING
    # An empty DestinationConfig is a setting (it clears both destinations), as on AWS.
    put = lam.put_function_event_invoke_config(FunctionName=fname, DestinationConfig={})
    assert put["DestinationConfig"] == {"OnSuccess": {}, "OnFailure": {}}


def test_update_of_a_configuration_that_does_not_exist_is_404(lam: Any, fname: str) -> None:
    deploy(lam, fname, NOOP)
    with pytest.raises(ClientError) as exc:
        lam.update_function_event_invoke_config(FunctionName=fname, MaximumRetryAttempts=0)
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == (
        f"The function arn:aws:lambda:{HERE}:function:{fname}:$LATEST "
        "doesn't have an EventInvokeConfig"
    )
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function_event_invoke_config(FunctionName=fname)  # Update created nothing
