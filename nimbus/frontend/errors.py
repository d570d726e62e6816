"""The one place where exceptions become AWS wire errors."""

from __future__ import annotations

import logging

import orjson
from starlette.requests import Request
from starlette.responses import Response

from nimbus.errors import NimbusError

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
