"""Streaming Python handlers: a handler that returns a generator streams its response.

Lambda streams natively only from Node.js (``awslambda.streamifyResponse``); this is
Nimbus's Python counterpart, over the same Runtime API (a chunked ``.../response`` with
``Lambda-Runtime-Function-Response-Mode: streaming``):

- each ``bytes`` (or ``bytearray``/``memoryview``) the generator yields is sent as it is
  yielded, each ``str`` as UTF-8;
- a ``dict`` yielded first is the HTTP response's metadata, as Node's
  ``awslambda.HttpResponseStream.from(stream, {statusCode, headers, cookies})`` gives it:
  written as JSON and eight NUL bytes before the body, with the content type
  ``application/vnd.awslambda.http-integration-response`` (what a RESPONSE_STREAM function
  URL reads its status and headers from); otherwise the stream's content type is
  ``application/octet-stream``, Node's default;
- an exception before the first item is an ordinary invocation error (``/error``: AWS
  accepts it only before the response begins); one after it ends the stream with AWS's
  error trailers, and the caller sees the error after the bytes already sent.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Generator
from typing import Any

from nimbus.runtimes.python.api_client import RuntimeApiClient

DEFAULT_CONTENT_TYPE = "application/octet-stream"
HTTP_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response"
PRELUDE_DELIMITER = b"\x00" * 8

ErrorOf = Callable[[BaseException], dict[str, Any]]
LogError = Callable[[dict[str, Any]], None]


class _Unmarshallable(Exception):
    pass


def _bytes(item: object) -> bytes:
    if isinstance(item, (bytes, bytearray, memoryview)):
        return bytes(item)
    if isinstance(item, str):
        return item.encode()
    raise _Unmarshallable(f"a streaming handler yields bytes or str, not {type(item).__name__}")


def _marshal_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": f"Unable to marshal response: {exc}",
        "errorType": "Runtime.MarshalError",
        "requestId": request_id,
        "stackTrace": [],
    }


def _flush() -> None:
    # The function's output must reach the log pipe before the platform writes END.
    sys.stdout.flush()
    sys.stderr.flush()


def _fail_before(
    client: RuntimeApiClient, request_id: str, error: dict[str, Any], log_error: LogError
) -> None:
    """An error before the response began: an ordinary invocation error (``/error``)."""
    log_error(error)
    _flush()
    client.error(request_id, error)


def stream_response(
    client: RuntimeApiClient,
    request_id: str,
    items: Generator[Any, None, Any],
    *,
    error_of: ErrorOf,
    log_error: LogError,
) -> None:
    """Run the handler's generator ``items`` to its end, streaming what it yields."""
    try:
        first = next(items)
    except StopIteration:
        first = b""
    except Exception as exc:
        _fail_before(client, request_id, error_of(exc), log_error)
        return
    try:
        if isinstance(first, dict):
            content_type = HTTP_CONTENT_TYPE
            opening = json.dumps(first).encode() + PRELUDE_DELIMITER
        else:
            content_type, opening = DEFAULT_CONTENT_TYPE, _bytes(first)
    except (TypeError, ValueError, _Unmarshallable) as exc:
        _fail_before(client, request_id, _marshal_error(exc, request_id), log_error)
        return
    stream = client.stream(request_id, content_type)
    error: dict[str, Any] | None = None
    try:
        stream.write(opening)
        for item in items:
            stream.write(_bytes(item))
    except OSError:
        # The Runtime API cut the stream off (its size limit): nothing more can be said.
        items.close()
        client.drop_connection()
        return
    except _Unmarshallable as exc:
        items.close()
        error = _marshal_error(exc, request_id)
    except Exception as exc:
        error = error_of(exc)
    if error is not None:
        log_error(error)
    _flush()
    try:
        stream.finish(error)
    except OSError:
        client.drop_connection()
