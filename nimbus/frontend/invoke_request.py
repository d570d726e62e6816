"""Reading an Invoke-shaped request (Invoke, InvokeWithResponseStream): the function and
qualifier, the invocation and log types, the client context and the JSON payload within
AWS's synchronous limit, or AWS's error for each."""

from __future__ import annotations

import base64
import binascii

import orjson
from starlette.requests import Request

from nimbus.errors import (
    InvalidParameterValueError,
    InvalidRequestContentError,
    RequestTooLargeError,
)
from nimbus.frontend.body import read_limited
from nimbus.model.arn import Arns, merge_qualifier, parse_function_ref
from nimbus.model.invoke import InvokeCall

SYNC_PAYLOAD_LIMIT = 6_291_456  # 6 MB, as AWS
MAX_CLIENT_CONTEXT = 3583  # bytes of base64, as AWS
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


def too_large() -> RequestTooLargeError:
    return RequestTooLargeError(
        f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
    )


def check_json(payload: bytes) -> None:
    if not payload.strip():
        return
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestContentError(f"Could not parse request body into json: {exc}") from exc


def client_context(raw: str | None) -> str | None:
    if raw is None:
        return None
    if len(raw) > MAX_CLIENT_CONTEXT:
        raise InvalidParameterValueError(
            f"Client context must be at most {MAX_CLIENT_CONTEXT} bytes (base64)."
        )
    try:
        decoded = base64.b64decode(raw, validate=True)
        orjson.loads(decoded)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequestContentError(
            "Client context must be base64-encoded JSON: could not decode it."
        ) from exc
    # The runtime receives the JSON itself (Lambda-Runtime-Client-Context), as on AWS.
    return decoded.decode()


def tail(log: str) -> str:
    """The last 4 KB of a log, base64-encoded, cut on a character boundary."""
    data = log.encode()[-LOG_TAIL_BYTES:]
    return base64.b64encode(data.decode(errors="ignore").encode()).decode()


async def read_call(
    request: Request, arns: Arns, invocation_types: tuple[str, ...] = INVOCATION_TYPES
) -> InvokeCall:
    """The invocation an Invoke-shaped request asks for (its path, Qualifier and headers,
    its JSON payload within the synchronous limit), or AWS's error for it."""
    ref = parse_function_ref(request.path_params["name"])
    arns.check_owner(ref)
    qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
    invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type not in invocation_types:
        choices = ", ".join(invocation_types[:-1]) + " or " + invocation_types[-1]
        raise InvalidParameterValueError(
            f"Invocation type '{invocation_type}' is not valid: use {choices}."
        )
    log_type = request.headers.get("x-amz-log-type", "None")
    if log_type not in ("None", "Tail"):
        raise InvalidParameterValueError(f"Log type '{log_type}' is not valid: use None or Tail.")
    payload = await read_limited(request, SYNC_PAYLOAD_LIMIT, too_large())
    check_json(payload)
    return InvokeCall(
        function_name=ref.name,
        qualifier=qualifier,
        payload=payload,
        client_context=client_context(request.headers.get("x-amz-client-context")),
        tail_logs=log_type == "Tail" and invocation_type == "RequestResponse",
        invocation_type=invocation_type,
        # A function's SDK forwards its _X_AMZN_TRACE_ID here: the loop count's carrier.
        trace_header=request.headers.get("x-amzn-trace-id"),
    )
