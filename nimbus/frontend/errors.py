"""The one place where exceptions become AWS wire errors."""

from __future__ import annotations

import logging
from xml.sax.saxutils import escape

import orjson
from starlette.requests import Request
from starlette.responses import Response

from nimbus.errors import NimbusError, QueryProtocolError

log = logging.getLogger(__name__)


def error_response(error: NimbusError) -> Response:
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
    return Response(
        orjson.dumps(body),
        status_code=error.status,
        headers=headers,
        media_type="application/json",
    )


async def handle_nimbus_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NimbusError)
    return error_response(exc)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error serving %s %s", request.method, request.url.path)
    return Response(
        orjson.dumps({"Type": "Service", "message": "An internal error occurred."}),
        status_code=500,
        headers={"X-Amzn-ErrorType": "ServiceException"},
        media_type="application/json",
    )


# --- The built-in queues' and topics' protocols --------------------------------------------


def _query_code(error: NimbusError) -> tuple[str, str]:
    """(query error code, "Sender" | "Receiver") of any error, for the SQS/SNS protocols."""
    if isinstance(error, QueryProtocolError):
        return error.query_code, "Sender" if error.sender_fault else "Receiver"
    code = error.error_type.removesuffix("Exception")
    return code, "Sender" if error.status < 500 else "Receiver"


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
        f"<ErrorResponse><Error><Type>{fault}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )
    return Response(body, status_code=error.status, media_type="text/xml")
