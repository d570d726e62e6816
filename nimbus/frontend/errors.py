"""The one place where exceptions become AWS wire errors.

Several wire formats share one port. Lambda's own API is restJson (the default); ``POST /``
speaks SQS's JSON protocol, EventBridge's JSON 1.1 or SNS's query protocol, and the root
table marks which one in the request's scope (``mark_protocol``) before it does anything
that can fail. Handlers only
raise; ``render_error`` — called by the Starlette exception handlers and by the fast path
alike — chooses the format.
"""

from __future__ import annotations

import logging
from typing import Final, Literal

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from nimbus.dataplane.placement import out_of_descriptors
from nimbus.errors import (
    NimbusError,
    QueryProtocolError,
    ResourceNotFoundError,
    TooManyRequestsError,
)
from nimbus.frontend import request_ids
from nimbus.frontend.xml_text import xml_text

log = logging.getLogger(__name__)

WireProtocol = Literal["rest-json", "sqs-json", "json-1.1", "query", "s3-xml"]
PROTOCOL_KEY: Final = "nimbus.protocol"
REQUEST_ID_KEY: Final = request_ids.SCOPE_KEY  # the query protocol echoes it in its errors


def mark_protocol(request: Request, protocol: WireProtocol, request_id: str = "") -> None:
    """Say how errors of this request are to be rendered (restJson when never called)."""
    request.scope[PROTOCOL_KEY] = protocol
    request.scope[REQUEST_ID_KEY] = request_id


def render_error(request: Request, exc: Exception) -> Response:
    """The response for any exception a handler raised, in the request's wire format, with
    the request's id in ``x-amzn-RequestId`` (SDKs report it for errors too)."""
    return request_ids.ensure(_render(request, exc), request.scope)


def _render(request: Request, exc: Exception) -> Response:
    if out_of_descriptors(exc):
        # Short of file descriptors anywhere (a blob, a socket): a throttle to retry, not a
        # 500 (issue 11, leak 6).
        exc = TooManyRequestsError("Rate Exceeded.", retryAfterSeconds=1)
    if isinstance(exc, NimbusError):
        protocol = request.scope.get(PROTOCOL_KEY, "rest-json")
        if protocol == "sqs-json":
            return sqs_json_error(exc)
        if protocol == "json-1.1":
            return json_1_1_error(exc)
        if protocol == "query":
            return query_xml_error(exc, request_ids.request_id_of(request.scope))
        if protocol == "s3-xml":
            return s3_xml_error(exc, request_ids.request_id_of(request.scope))
        return rest_json_error(exc)
    if isinstance(exc, ClientDisconnect):
        return Response(status_code=400)  # nobody is left to answer
    if isinstance(exc, HTTPException) and request.scope.get(PROTOCOL_KEY) == "s3-xml":
        # A code-download path no route matches ("/_nimbus/code//../.zip"): a key with no
        # blob, in the XML its other errors are in (the gate marked it so).
        return s3_xml_error(
            ResourceNotFoundError(f"No code blob at {request.url.path}."),
            request_ids.request_id_of(request.scope),
        )
    if isinstance(exc, HTTPException):
        # Starlette's router only raises 404 (no route) and 405 (no such method): to an SDK
        # both are an operation this endpoint does not have.
        return _rest_json(
            {
                "Type": "User",
                "message": f"No operation matches {request.method} {request.url.path}",
            },
            404,
            {"X-Amzn-ErrorType": "UnknownOperationException"},
        )
    log.exception("unhandled error serving %s %s", request.method, request.url.path, exc_info=exc)
    return _rest_json(
        {"Type": "Service", "message": "An internal error occurred."},
        500,
        {"X-Amzn-ErrorType": "ServiceException"},
    )


async def handle_exception(request: Request, exc: Exception) -> Response:
    """``render_error`` as a Starlette exception handler."""
    return render_error(request, exc)


# --- Lambda's restJson ---------------------------------------------------------------------


def rest_json_error(error: NimbusError) -> Response:
    # Lambda's restJson errors: the type in X-Amzn-ErrorType, a body with Type and message
    # (botocore reads the code from the header and the message from "message"/"Message").
    body: dict[str, object] = {
        "Type": "User" if error.status < 500 else "Service",
        "message": error.message,
        **error.fields,
    }
    headers = {"X-Amzn-ErrorType": error.error_type}
    retry_after = error.fields.get("retryAfterSeconds")
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return _rest_json(body, error.status, headers)


def _rest_json(body: dict[str, object], status: int, headers: dict[str, str]) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, headers=headers, media_type="application/json"
    )


# --- The built-in queues' and topics' protocols --------------------------------------------


def _query_code(error: NimbusError) -> tuple[str, str]:
    """(query error code, "Sender" | "Receiver") of any error, for the SQS/SNS protocols."""
    if isinstance(error, QueryProtocolError):
        return error.query_code, "Sender" if error.sender_fault else "Receiver"
    code = error.error_type.removesuffix("Exception")
    return code, "Sender" if error.status < 500 else "Receiver"


def json_1_1_error(error: NimbusError) -> Response:
    # The JSON 1.1 protocol (EventBridge): the shape name in __type and in x-amzn-ErrorType,
    # the text in "message" (botocore reads the code from either, the message from this).
    return Response(
        orjson.dumps({"__type": error.error_type, "message": error.message}),
        status_code=error.status,
        headers={"x-amzn-ErrorType": error.error_type},
        media_type="application/x-amz-json-1.1",
    )


def sqs_json_error(error: NimbusError) -> Response:
    # SQS's JSON protocol: the modelled shape in __type, and the legacy query code in
    # x-amzn-query-error, from which botocore picks the exception class.
    code, fault = _query_code(error)
    return Response(
        orjson.dumps({"__type": f"com.amazonaws.sqs#{error.error_type}", "message": error.message}),
        status_code=error.status,
        headers={"x-amzn-query-error": f"{code};{fault}"},
        media_type="application/x-amz-json-1.0",
    )


def query_xml_error(error: NimbusError, request_id: str) -> Response:
    code, fault = _query_code(error)
    body = (
        f"<ErrorResponse><Error><Type>{fault}</Type><Code>{xml_text(code)}</Code>"
        f"<Message>{xml_text(error.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(body, status_code=error.status, media_type="text/xml")


def s3_xml_error(error: NimbusError, request_id: str) -> Response:
    # S3's REST error shape, for the presigned code-download URLs (frontend/code_urls.py),
    # which stand in for S3's: <Error><Code>AccessDenied</Code><Message>Request has
    # expired</Message>...</Error>.
    code, _ = _query_code(error)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{xml_text(code)}</Code><Message>{xml_text(error.message)}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    )
    return Response(body, status_code=error.status, media_type="application/xml")
