"""Payload format 1.0 for HTTP APIs (pure): the event a request becomes, the response an
answer becomes."""

from __future__ import annotations

import base64

import orjson
import pytest

from nimbus.web.http_request import HttpRequest
from nimbus.web.payload_v1 import event_v1, resource_of, response_v1
from nimbus.web.payload_v2 import BadFunctionResponse, EventContext

CONTEXT = EventContext(
    api_id="a1b2c3d4e5",
    account_id="000000000000",
    request_id="BitA2hMuNjMEPFQ=",
    now_ms=1583349317135,
    route_key="GET /my/{thing}",
    stage="dev",
    path_parameters={"thing": "path"},
    stage_variables={"color": "blue"},
)


def _request(**kw: object) -> HttpRequest:
    values: dict[str, object] = {
        "method": "GET",
        "raw_path": "/dev/my/path",
        "raw_query": "parameter1=value1&parameter1=value2&parameter2=value",
        "headers": (("header1", "value1"), ("header2", "value1"), ("header2", "value2")),
        "body": b"",
        "source_ip": "192.0.2.1",
        "domain_name": "a1b2c3d4e5.execute-api.us-east-1.localhost",
    }
    values.update(kw)
    return HttpRequest(**values)  # type: ignore[arg-type]


def test_the_event_has_aws_1_0_shape() -> None:
    event = event_v1(_request(headers=(*_request().headers, ("user-agent", "ua"))), CONTEXT)
    assert event["version"] == "1.0"
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/my/{thing}",
        "/dev/my/path",
        "GET",
    )
    assert event["headers"] == {"header1": "value1", "header2": "value2", "user-agent": "ua"}
    assert event["multiValueHeaders"]["header2"] == ["value1", "value2"]
    assert event["queryStringParameters"] == {"parameter1": "value2", "parameter2": "value"}
    assert event["multiValueQueryStringParameters"] == {
        "parameter1": ["value1", "value2"],
        "parameter2": ["value"],
    }
    assert event["pathParameters"] == {"thing": "path"}
    assert event["stageVariables"] == {"color": "blue"}
    assert (event["body"], event["isBase64Encoded"]) == (None, False)
    context = event["requestContext"]
    assert context == {
        "accountId": "000000000000",
        "apiId": "a1b2c3d4e5",
        "domainName": "a1b2c3d4e5.execute-api.us-east-1.localhost",
        "domainPrefix": "a1b2c3d4e5",
        "extendedRequestId": "BitA2hMuNjMEPFQ=",
        "httpMethod": "GET",
        "identity": {
            "accessKey": None,
            "accountId": None,
            "caller": None,
            "cognitoAuthenticationProvider": None,
            "cognitoAuthenticationType": None,
            "cognitoIdentityId": None,
            "cognitoIdentityPoolId": None,
            "principalOrgId": None,
            "sourceIp": "192.0.2.1",
            "user": None,
            "userAgent": "ua",
            "userArn": None,
        },
        "path": "/dev/my/path",
        "protocol": "HTTP/1.1",
        "requestId": "BitA2hMuNjMEPFQ=",
        "requestTime": "04/Mar/2020:19:15:17 +0000",
        "requestTimeEpoch": 1583349317135,
        "resourceId": "GET /my/{thing}",
        "resourcePath": "/my/{thing}",
        "stage": "dev",
    }


def test_absent_parts_are_null_and_binary_bodies_base64() -> None:
    bare = EventContext(api_id="a", account_id="1", request_id="r", now_ms=0)
    event = event_v1(
        _request(raw_query="", headers=(("content-type", "image/png"),), body=b"\x89P"), bare
    )
    assert event["resource"] == "$default"
    assert event["requestContext"]["resourcePath"] == "$default"
    for key in ("queryStringParameters", "multiValueQueryStringParameters"):
        assert event[key] is None
    assert (event["pathParameters"], event["stageVariables"]) == (None, None)
    assert event["body"] == base64.b64encode(b"\x89P").decode()
    assert event["isBase64Encoded"] is True
    text = event_v1(_request(headers=(("content-type", "text/plain"),), body=b"hi"), bare)
    assert (text["body"], text["isBase64Encoded"]) == ("hi", False)


def test_resource_of_a_route_key() -> None:
    assert resource_of("ANY /{proxy+}") == "/{proxy+}"
    assert resource_of("$default") == "$default"


def test_headers_and_multi_value_headers_are_merged() -> None:
    response = response_v1(
        orjson.dumps(
            {
                "statusCode": 201,
                "headers": {"X-A": "1", "X-B": "single", "Content-Type": "text/plain"},
                "multiValueHeaders": {"x-b": ["m1", "m2"], "Set-Cookie": ["a=1", "b=2"]},
                "body": "made",
            }
        )
    )
    assert response.status == 201
    assert response.body == b"made"
    headers = list(response.headers)
    assert ("x-a", "1") in headers
    assert ("x-b", "m1,m2") in headers  # multiValueHeaders wins a name in both
    assert [v for k, v in headers if k == "set-cookie"] == ["a=1", "b=2"]
    assert ("content-type", "text/plain") in headers


def test_base64_bodies_are_decoded() -> None:
    response = response_v1(
        orjson.dumps(
            {
                "statusCode": 200,
                "body": base64.b64encode(b"\x00\x01").decode(),
                "isBase64Encoded": True,
            }
        )
    )
    assert response.body == b"\x00\x01"


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b'"just a string"',
        b'{"body": "no status"}',
        b'{"statusCode": 200, "body": {"an": "object"}}',
        b'{"statusCode": "abc"}',
        b'{"statusCode": 200, "headers": ["x"]}',
        b'{"statusCode": 200, "multiValueHeaders": {"x": "not a list"}}',
        b'{"statusCode": 200, "headers": {"x": {"nested": 1}}}',
        b'{"statusCode": 200, "headers": {"x": "a\\r\\nset-cookie: stolen=1"}}',
        b'{"statusCode": 200, "body": "!!", "isBase64Encoded": true}',
    ],
)
def test_answers_api_gateway_cannot_map(answer: bytes) -> None:
    with pytest.raises(BadFunctionResponse):
        response_v1(answer)
