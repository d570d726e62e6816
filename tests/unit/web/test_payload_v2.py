"""Payload format 2.0 (pure): the event a request becomes, the response an answer becomes."""

from __future__ import annotations

import base64

import orjson
import pytest

from nimbus.web.http_request import HttpRequest
from nimbus.web.payload_v2 import (
    BadFunctionResponse,
    EventContext,
    event_v2,
    is_text,
    request_time,
    response_v2,
)

CONTEXT = EventContext(api_id="abc", account_id="anonymous", request_id="r-1", now_ms=1583348638390)


def _request(**kw: object) -> HttpRequest:
    values: dict[str, object] = {
        "method": "GET",
        "raw_path": "/",
        "raw_query": "",
        "headers": (),
        "body": b"",
        "source_ip": "10.0.0.1",
        "domain_name": "abc.lambda-url.us-east-1.localhost",
    }
    values.update(kw)
    return HttpRequest(**values)  # type: ignore[arg-type]


def test_repeated_headers_and_query_parameters_are_comma_joined() -> None:
    event = event_v2(
        _request(
            raw_query="x=1&x=2&y=%2F",
            headers=(("accept", "a"), ("accept", "b"), ("cookie", "k=v; m=n")),
        ),
        CONTEXT,
    )
    assert event["headers"] == {"accept": "a,b"}
    assert event["cookies"] == ["k=v", "m=n"]
    assert event["queryStringParameters"] == {"x": "1,2", "y": "/"}
    assert event["rawQueryString"] == "x=1&x=2&y=%2F"


def test_absent_parts_are_left_out() -> None:
    event = event_v2(_request(), CONTEXT)
    assert set(event) == {
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "headers",
        "requestContext",
        "isBase64Encoded",
    }
    assert event["requestContext"]["time"] == "04/Mar/2020:19:03:58 +0000"
    assert event["requestContext"]["timeEpoch"] == 1583348638390


def test_text_bodies_are_text_and_others_base64() -> None:
    text = event_v2(_request(body=b"hi", headers=(("content-type", "text/plain"),)), CONTEXT)
    assert (text["body"], text["isBase64Encoded"]) == ("hi", False)
    raw = event_v2(_request(body=b"\xff\x00"), CONTEXT)
    assert raw["isBase64Encoded"] is True and base64.b64decode(raw["body"]) == b"\xff\x00"
    not_utf8 = event_v2(
        _request(body=b"\xff", headers=(("content-type", "application/json"),)), CONTEXT
    )
    assert not_utf8["isBase64Encoded"] is True


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        ("application/json; charset=utf-8", True),
        ("text/html", True),
        ("application/vnd.api+json", True),
        ("application/octet-stream", False),
        ("multipart/form-data; boundary=x", False),
        (None, False),
    ],
)
def test_which_content_types_are_text(content_type: str | None, text: bool) -> None:
    assert is_text(content_type) is text


def test_path_parameters_and_stage_variables_appear_when_given() -> None:
    context = EventContext(
        api_id="a",
        account_id="1",
        request_id="r",
        now_ms=0,
        route_key="GET /items/{id}",
        stage="prod",
        path_parameters={"id": "7"},
        stage_variables={"env": "p"},
    )
    event = event_v2(_request(raw_path="/prod/items/7"), context)
    assert event["routeKey"] == "GET /items/{id}"
    assert event["pathParameters"] == {"id": "7"}
    assert event["stageVariables"] == {"env": "p"}
    assert event["requestContext"]["stage"] == "prod"


def test_request_time_is_the_clf_date() -> None:
    assert request_time(0) == "01/Jan/1970:00:00:00 +0000"


def test_a_structured_answer_maps_status_headers_cookies_and_base64_body() -> None:
    answer = {
        "statusCode": 201,
        "headers": {"X-A": "1", "Content-Type": "image/png", "X-B": True},
        "cookies": ["s=1", "t=2"],
        "body": base64.b64encode(b"\x89P").decode(),
        "isBase64Encoded": True,
    }
    response = response_v2(orjson.dumps(answer))
    assert response.status == 201
    assert response.body == b"\x89P"
    assert response.headers == (
        ("x-a", "1"),
        ("content-type", "image/png"),
        ("x-b", "true"),
        ("set-cookie", "s=1"),
        ("set-cookie", "t=2"),
    )


def test_any_other_json_is_the_body_itself() -> None:
    for payload in (b'"Hello, world!"', b'{"message": "hi"}', b"[1, 2]", b"7"):
        response = response_v2(payload)
        assert (response.status, response.body) == (200, payload)
        assert response.headers == (("content-type", "application/json"),)


@pytest.mark.parametrize(
    "answer",
    [
        b"not json",
        b'{"statusCode": 99}',
        b'{"statusCode": "abc"}',
        b'{"statusCode": 200, "headers": {"bad name": "v"}}',
        b'{"statusCode": 200, "headers": {"x": "a\\r\\nset-cookie: y"}}',
        b'{"statusCode": 200, "cookies": "a=1"}',
        b'{"statusCode": 200, "isBase64Encoded": true, "body": "***"}',
        b'{"statusCode": 200, "headers": {"x": "\\u2603"}}',
    ],
)
def test_an_answer_that_cannot_be_a_response_is_refused(answer: bytes) -> None:
    with pytest.raises(BadFunctionResponse):
        response_v2(answer)
