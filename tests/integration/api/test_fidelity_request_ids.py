"""End to end: every response carries ``x-amzn-RequestId`` — successes and errors, on every
wire protocol and on the fast path — so SDKs report ``ResponseMetadata.RequestId``."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support import NimbusServer, create_function, make_zip

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})


def request_id_of(exc: Any) -> str:
    request_id: str = exc.value.response["ResponseMetadata"].get("RequestId", "")
    return request_id


def test_lambda_errors_carry_a_request_id(lam: Any, fname: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: lam.get_function(FunctionName=fname),  # 404 from a route
        lambda: lam.invoke(FunctionName=fname, Payload=b"{}"),  # 404 from the fast path
        lambda: lam.invoke(FunctionName=fname, InvocationType="DryRun"),
        lambda: lam.tag_resource(Resource=fname, Tags={"a": "b"}),  # 400 ValidationException
        lambda: lam.list_versions_by_function(FunctionName=fname, Marker="x"),
    ]
    seen = set()
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        request_id = request_id_of(exc)
        assert UUID.match(request_id), exc.value.response
        seen.add(request_id)
    assert len(seen) == len(calls)  # a fresh id per request


def test_successes_carry_a_request_id(lam: Any, fname: str) -> None:
    created = create_function(lam, fname, code=CODE)
    responses = [
        created,
        lam.list_functions(),
        lam.get_account_settings(),
        lam.invoke(FunctionName=fname, InvocationType="DryRun"),  # a 204 on the fast path
        lam.delete_function(FunctionName=fname, Qualifier="77"),  # a 204 of a route
    ]
    for response in responses:
        assert UUID.match(response["ResponseMetadata"]["RequestId"]), response


def test_unknown_operations_and_unparsable_requests_carry_a_request_id(
    server: NimbusServer,
) -> None:
    with server.http() as http:  # signed: past the gate, to the router's own answers
        unknown = http.get("/2015-03-31/no-such-thing")
        wrong_method = http.patch("/2015-03-31/functions")
    assert unknown.status_code == 404
    assert unknown.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert UUID.match(unknown.headers["x-amzn-requestid"])
    assert wrong_method.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert UUID.match(wrong_method.headers["x-amzn-requestid"])
    # The gate's own refusals carry one too.
    refused = httpx.get(f"{server.url}/2015-03-31/functions")
    assert refused.headers["x-amzn-errortype"] == "MissingAuthenticationTokenException"
    assert UUID.match(refused.headers["x-amzn-requestid"])


def test_queue_and_topic_errors_carry_the_request_id_their_bodies_name(
    server: NimbusServer,
) -> None:
    sqs = server.client("sqs")
    with pytest.raises(ClientError) as sqs_error:
        sqs.get_queue_url(QueueName="no-such-queue-for-request-ids")
    assert UUID.match(request_id_of(sqs_error))
    sns = server.client("sns")
    with pytest.raises(ClientError) as sns_error:
        sns.get_topic_attributes(TopicArn="arn:aws:sns:us-east-1:000000000000:none-such")
    # botocore reads the query protocol's id from the XML body; the header says the same.
    assert UUID.match(request_id_of(sns_error))
    assert sns_error.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"] == (
        request_id_of(sns_error)
    )
    topic = sns.create_topic(Name="request-ids")
    headers = topic["ResponseMetadata"]["HTTPHeaders"]
    assert headers["x-amzn-requestid"] == topic["ResponseMetadata"]["RequestId"]
