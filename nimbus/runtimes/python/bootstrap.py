"""The Python runtime loop: Init (import the handler), then next -> handler -> response.

Errors are shaped exactly as AWS's Python runtime shapes them (errorMessage, errorType,
requestId, stackTrace as a list of formatted frames) and logged as ``[ERROR] Type: message``.
"""

from __future__ import annotations

import decimal
import json
import logging
import os
import sys
import time
import traceback
import types
from collections.abc import Sequence
from typing import Any

from nimbus.runtimes.python.api_client import Invocation, RuntimeApiClient
from nimbus.runtimes.python.context import LambdaContext
from nimbus.runtimes.python.handler import HandlerError, load_handler
from nimbus.runtimes.python.streaming import stream_response

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))
_NIMBUS_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(_RUNTIME_DIR)))


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


def _setup_logging(request_filter: _RequestIdFilter) -> None:
    """The root logger AWS installs: ``[LEVEL]\\t<time>Z\\t<request id>\\t<message>``; the
    level stays WARNING unless the function changes it, as on Lambda."""
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s\n",
        "%Y-%m-%dT%H:%M:%S",
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler.terminator = ""
    handler.addFilter(request_filter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)


def _json_default(value: Any) -> Any:
    # AWS's runtime serialises Decimal (DynamoDB's number type) as a float.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _user_frames(tb: Any) -> list[str]:
    """Formatted frames with the runtime's own frames removed, as AWS's stackTrace."""
    frames = [f for f in traceback.extract_tb(tb) if not f.filename.startswith(_RUNTIME_DIR)]
    return traceback.format_list(frames)


def _log_error(error: dict[str, Any]) -> None:
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error.get("stackTrace"):
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in error["stackTrace"])
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _exception_error(exc: BaseException, request_id: str) -> dict[str, Any]:
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "requestId": request_id,
        "stackTrace": _user_frames(exc.__traceback__),
    }


def _handle(
    client: RuntimeApiClient, handler: Any, inv: Invocation, request_filter: _RequestIdFilter
) -> None:
    request_filter.request_id = inv.request_id
    if inv.trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = inv.trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    error: dict[str, Any] | None = None
    payload = b""
    try:
        event = json.loads(inv.body) if inv.body else {}
    except ValueError as exc:
        error = {
            "errorMessage": f"Unable to unmarshal input: {exc}",
            "errorType": "Runtime.UnmarshalError",
            "requestId": inv.request_id,
            "stackTrace": [],
        }
    if error is None:
        context = LambdaContext(
            request_id=inv.request_id,
            deadline_ms=inv.deadline_ms,
            invoked_function_arn=inv.invoked_function_arn,
            client_context=inv.client_context,
            cognito_identity=inv.cognito_identity,
        )
        try:
            result = handler(event, context)
        except Exception as exc:
            error = _exception_error(exc, inv.request_id)
        else:
            if isinstance(result, types.GeneratorType):  # streams: runtimes.python.streaming
                stream_response(
                    client,
                    inv.request_id,
                    result,
                    error_of=lambda exc: _exception_error(exc, inv.request_id),
                    log_error=_log_error,
                )
                return
            try:
                payload = json.dumps(result, default=_json_default).encode()
            except (TypeError, ValueError, OverflowError) as exc:
                error = {
                    "errorMessage": f"Unable to marshal response: {exc}",
                    "errorType": "Runtime.MarshalError",
                    "requestId": inv.request_id,
                    "stackTrace": [],
                }
    if error is not None:
        _log_error(error)
    # The function's output must reach the log pipe before the platform writes END.
    sys.stdout.flush()
    sys.stderr.flush()
    if error is not None:
        client.error(inv.request_id, error)
    else:
        client.respond(inv.request_id, payload)


def main(handler_name: str, head: Sequence[str] = (), tail: Sequence[str] = ()) -> int:
    """Runs in the sandboxed child; returns only on an Init failure."""
    # The function must not see Nimbus itself on its path, only the standard library.
    stdlib = [p for p in sys.path if p and p != _NIMBUS_ROOT]
    sys.path[:] = [*head, *stdlib, *tail]
    # Unbuffered like AWS's runtime, so print() lines reach the log as they happen.
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    sys.stderr.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    request_filter = _RequestIdFilter()
    _setup_logging(request_filter)
    client = RuntimeApiClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = load_handler(handler_name)
    except HandlerError as exc:
        error = {
            "errorMessage": exc.message,
            "errorType": exc.error_type,
            "requestId": "",
            "stackTrace": exc.stack,
        }
        _log_error(error)
        client.init_error(error)
        return 1
    except Exception as exc:
        error = _exception_error(exc, "")
        _log_error(error)
        client.init_error(error)
        return 1
    while True:
        _handle(client, handler, client.next(), request_filter)
