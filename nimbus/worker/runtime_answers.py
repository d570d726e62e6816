"""The Runtime API's answers, byte for byte (pure): status lines, AWS's JSON error shape and
the fixed answers the emulator (aws-lambda-runtime-interface-emulator, ``rapi/rendering``)
gives."""

from __future__ import annotations

import json

_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
}


def status_line(status: int) -> bytes:
    return f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n".encode()


def json_response(status: int, body: dict[str, str]) -> bytes:
    raw = json.dumps(body).encode()
    return (
        status_line(status)
        + b"Content-Type: application/json\r\nContent-Length: "
        + str(len(raw)).encode()
        + b"\r\n\r\n"
        + raw
    )


def error(status: int, error_type: str, message: str) -> bytes:
    """An answer in the Runtime API's error shape."""
    return json_response(status, {"errorMessage": message, "errorType": error_type})


def uri_too_long(limit: int) -> bytes:
    return error(414, "RequestURITooLong", f"Request URI exceeds {limit} bytes.")


def head_too_large(message: str) -> bytes:
    return error(431, "RequestHeaderFieldsTooLarge", message)


ACCEPTED = json_response(202, {"status": "OK"})


def too_large(limit: int) -> bytes:
    return error(
        413, "RequestEntityTooLarge", f"Exceeded maximum allowed payload size ({limit} bytes)."
    )


def invalid_response_mode() -> bytes:
    # rendering.RenderInvalidFunctionResponseMode: a Lambda-Runtime-Function-Response-Mode
    # other than "streaming".
    return error(400, "InvalidFunctionResponseMode", "Invalid function response mode")
