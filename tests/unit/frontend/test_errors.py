"""``render_error``, the one place an exception becomes a response: each wire format, chosen
by the protocol the request was marked with."""

from __future__ import annotations

import logging
from xml.etree import ElementTree

import orjson
import pytest
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request

from nimbus.errors import (
    InvalidParameterValueError,
    QueueDoesNotExistError,
    ResourceNotFoundError,
    ServiceError,
    SnsInvalidParameterError,
    TooManyRequestsError,
)
from nimbus.frontend.errors import mark_protocol, render_error


def _request(method: str = "POST", path: str = "/") -> Request:
    return Request(
        {
            "type": "http",
            "method": method,
            "path": path,
            "root_path": "",
            "scheme": "http",
            "server": ("testserver", 80),
            "query_string": b"",
            "headers": [],
        }
    )


def test_rest_json_is_the_default() -> None:
    response = render_error(_request(), ResourceNotFoundError("Function not found: f"))
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "ResourceNotFoundException"
    assert response.media_type == "application/json"
    assert orjson.loads(response.body) == {"Type": "User", "message": "Function not found: f"}


def test_rest_json_carries_fields_and_retry_after() -> None:
    error = TooManyRequestsError("Rate exceeded", Reason="ReservedFunction", retryAfterSeconds=1)
    response = render_error(_request(), error)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "1"
    assert orjson.loads(response.body) == {
        "Type": "User",
        "message": "Rate exceeded",
        "Reason": "ReservedFunction",
        "retryAfterSeconds": 1,
    }


def test_rest_json_server_faults_are_typed_service() -> None:
    response = render_error(_request(), ServiceError("boom"))
    assert response.status_code == 500
    assert orjson.loads(response.body)["Type"] == "Service"
    assert "retry-after" not in response.headers


def test_sqs_json_names_the_shape_and_the_query_code() -> None:
    request = _request()
    mark_protocol(request, "sqs-json")
    response = render_error(request, QueueDoesNotExistError("The specified queue does not exist."))
    assert response.status_code == 400
    assert response.media_type == "application/x-amz-json-1.0"
    assert (
        response.headers["x-amzn-query-error"] == "AWS.SimpleQueueService.NonExistentQueue;Sender"
    )
    assert "x-amzn-errortype" not in response.headers
    assert orjson.loads(response.body) == {
        "__type": "com.amazonaws.sqs#QueueDoesNotExist",
        "message": "The specified queue does not exist.",
    }


@pytest.mark.parametrize(
    ("error", "header"),
    [
        (InvalidParameterValueError("bad"), "InvalidParameterValue;Sender"),
        (ServiceError("down"), "Service;Receiver"),
    ],
)
def test_sqs_json_derives_a_code_from_lambda_errors(error: Exception, header: str) -> None:
    request = _request()
    mark_protocol(request, "sqs-json")
    assert render_error(request, error).headers["x-amzn-query-error"] == header


def test_query_xml_escapes_and_echoes_the_request_id() -> None:
    request = _request()
    mark_protocol(request, "query", "req-1")
    response = render_error(request, SnsInvalidParameterError("Invalid parameter: <a & b>"))
    assert response.status_code == 400
    assert response.media_type == "text/xml"
    root = ElementTree.fromstring(response.body)
    assert root.findtext("Error/Type") == "Sender"
    assert root.findtext("Error/Code") == "InvalidParameter"
    assert root.findtext("Error/Message") == "Invalid parameter: <a & b>"
    assert root.findtext("RequestId") == "req-1"


def test_query_xml_replaces_characters_xml_cannot_carry() -> None:
    # An action or parameter echoed in a message can hold any character a form can encode;
    # a control character in the document made it unparseable (found by the API fuzz).
    request = _request()
    mark_protocol(request, "query", "req-1")
    response = render_error(request, SnsInvalidParameterError("bad \x07\x00 \ufffe <ok>"))
    root = ElementTree.fromstring(response.body)
    assert root.findtext("Error/Message") == "bad \ufffd\ufffd \ufffd <ok>"


@pytest.mark.parametrize("protocol", [None, "sqs-json", "query"])
def test_unexpected_errors_are_a_logged_rest_500(
    protocol: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    request = _request(path="/x")
    if protocol is not None:
        mark_protocol(request, protocol)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR, logger="nimbus.frontend.errors"):
        response = render_error(request, RuntimeError("bug"))
    assert response.status_code == 500
    assert response.headers["x-amzn-errortype"] == "ServiceException"
    assert orjson.loads(response.body) == {
        "Type": "Service",
        "message": "An internal error occurred.",
    }
    [record] = caplog.records
    assert "POST /x" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)


@pytest.mark.parametrize("status", [404, 405])
def test_routing_misses_are_unknown_operations(status: int) -> None:
    response = render_error(_request("GET", "/nope"), HTTPException(status_code=status))
    assert response.status_code == 404
    assert response.headers["x-amzn-errortype"] == "UnknownOperationException"
    assert orjson.loads(response.body) == {
        "Type": "User",
        "message": "No operation matches GET /nope",
    }


def test_a_client_gone_gets_an_empty_400() -> None:
    response = render_error(_request(), ClientDisconnect())
    assert response.status_code == 400
    assert response.body == b""
