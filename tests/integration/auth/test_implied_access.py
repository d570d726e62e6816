"""What a caller makes Nimbus do on its behalf needs the caller's permission too
(frontend/implied_access.py): passing an execution role (iam:PassRole), reading a queue
through an event source mapping, delivering to a function through a topic subscription or
to a queue as a destination."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.auth.helpers import ACCOUNT, REGION, allow, client_as, unique, user_key
from tests.integration.invoke.helpers import deploy
from tests.support import ROLE, NimbusServer, error_of, make_zip

ECHO = "def handler(event, context):\n    return event\n"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/app-role"


def _create(lam: Any, name: str, role: str) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": ECHO})},
    )


def test_creating_a_function_needs_pass_role_on_its_role(server: NimbusServer) -> None:
    functions = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:*"
    without = user_key(server, unique("dev"), allow(("lambda:CreateFunction", functions)))
    name = unique("fn")
    with pytest.raises(ClientError) as denied:
        _create(client_as(server, "lambda", without), name, ROLE_ARN)
    code, status, message = error_of(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"iam:PassRole on resource: {ROLE_ARN}" in message
    with pytest.raises(ClientError) as missing:
        server.client("lambda").get_function(FunctionName=name)
    assert error_of(missing)[0] == "ResourceNotFoundException"

    allowed = user_key(
        server,
        unique("dev"),
        allow(("lambda:CreateFunction", functions), ("iam:PassRole", ROLE_ARN)),
    )
    _create(client_as(server, "lambda", allowed), name, ROLE_ARN)
    # ...but only that role: switching to another one is refused.
    with pytest.raises(ClientError) as other:
        client_as(server, "lambda", allowed).update_function_configuration(
            FunctionName=name, Role=ROLE
        )
    assert error_of(other)[0] == "AccessDeniedException"
    server.client("lambda").delete_function(FunctionName=name)


def test_a_mapping_needs_permission_to_read_its_queue(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, ECHO)
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=unique("private"))["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    key = user_key(server, unique("dev"), allow(("lambda:CreateEventSourceMapping", "*")))
    with pytest.raises(ClientError) as denied:
        client_as(server, "lambda", key).create_event_source_mapping(
            FunctionName=fname, EventSourceArn=queue_arn
        )
    code, status, message = error_of(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"sqs:ReceiveMessage on resource: {queue_arn}" in message
    assert lam.list_event_source_mappings(FunctionName=fname)["EventSourceMappings"] == []


def test_subscribing_a_function_to_a_topic_needs_permission_to_invoke_it(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    function_arn = deploy(lam, fname, ECHO)["FunctionArn"]
    key = user_key(server, unique("dev"), allow((["sns:CreateTopic", "sns:Subscribe"], "*")))
    sns = client_as(server, "sns", key)
    topic = sns.create_topic(Name=unique("mine"))["TopicArn"]
    with pytest.raises(ClientError) as denied:
        sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=function_arn)
    code, status, message = error_of(denied)
    assert (code, status) == ("AuthorizationError", 403)
    assert "lambda:InvokeFunction" in message
    assert server.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []


def test_a_destination_needs_permission_to_send_there(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, ECHO)
    queue_arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{unique('audit')}"
    server.client("sqs").create_queue(QueueName=queue_arn.rsplit(":", 1)[1])
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fname}"
    key = user_key(server, unique("dev"), allow(("lambda:PutFunctionEventInvokeConfig", function)))
    with pytest.raises(ClientError) as denied:
        client_as(server, "lambda", key).put_function_event_invoke_config(
            FunctionName=fname, DestinationConfig={"OnFailure": {"Destination": queue_arn}}
        )
    assert error_of(denied)[:2] == ("AccessDeniedException", 403)
    assert "sqs:SendMessage" in error_of(denied)[2]
