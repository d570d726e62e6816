"""Route table: Invoke (sync, async and dry run) and the node's own metrics endpoints."""

from __future__ import annotations

import base64
import binascii

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.errors import (
    InvalidParameterValueError,
    InvalidRequestContentError,
    RequestTooLargeError,
    ServiceError,
)
from nimbus.frontend.body import read_limited
from nimbus.frontend.context import Services
from nimbus.model.arn import merge_qualifier, parse_function_ref
from nimbus.model.invoke import InvokeCall

SYNC_PAYLOAD_LIMIT = 6_291_456  # 6 MB, as AWS
MAX_CLIENT_CONTEXT = 3583  # bytes of base64, as AWS
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")


def _too_large() -> RequestTooLargeError:
    return RequestTooLargeError(
        f"Request must be smaller than {SYNC_PAYLOAD_LIMIT} bytes for the InvokeFunction operation"
    )


def _check_json(payload: bytes) -> None:
    if not payload.strip():
        return
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise InvalidRequestContentError(f"Could not parse request body into json: {exc}") from exc


def _client_context(raw: str | None) -> str | None:
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


async def invoke(request: Request) -> Response:
    services = Services.of(request)
    if services.invoker is None:
        raise ServiceError("This node has no data plane.")
    ref = parse_function_ref(request.path_params["name"])
    services.functions.arns.check_owner(ref)
    qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
    invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type not in INVOCATION_TYPES:
        raise InvalidParameterValueError(
            f"Invocation type '{invocation_type}' is not valid: use RequestResponse, Event or "
            "DryRun."
        )
    log_type = request.headers.get("x-amz-log-type", "None")
    if log_type not in ("None", "Tail"):
        raise InvalidParameterValueError(f"Log type '{log_type}' is not valid: use None or Tail.")
    payload = await read_limited(request, SYNC_PAYLOAD_LIMIT, _too_large())
    _check_json(payload)
    call = InvokeCall(
        function_name=ref.name,
        qualifier=qualifier,
        payload=payload,
        client_context=_client_context(request.headers.get("x-amz-client-context")),
        tail_logs=log_type == "Tail" and invocation_type == "RequestResponse",
        invocation_type=invocation_type,
    )
    if invocation_type == "DryRun":
        # Validates the function, qualifier and permissions without running anything.
        await services.invoker.resolve(ref.name, qualifier)
        return Response(status_code=204)
    if invocation_type == "Event":
        if services.events is None:
            raise ServiceError("This node does not accept asynchronous invocations.")
        request_id = await services.events.accept(call)
        return Response(status_code=202, headers={"x-amzn-RequestId": request_id})
    outcome = await services.invoker.invoke(call)
    headers = {
        "x-amzn-RequestId": outcome.request_id,
        "X-Amz-Executed-Version": outcome.executed_version,
    }
    if outcome.function_error is not None:
        headers["X-Amz-Function-Error"] = outcome.function_error
    if call.tail_logs:
        headers["X-Amz-Log-Result"] = tail(outcome.log_tail)
    return Response(outcome.payload, headers=headers, media_type="application/json")


async def metrics_json(request: Request) -> Response:
    services = Services.of(request)
    return Response(orjson.dumps(services.metrics.snapshot()), media_type="application/json")


async def metrics_prometheus(request: Request) -> Response:
    services = Services.of(request)
    return Response(services.metrics.prometheus(), media_type="text/plain; version=0.0.4")


routes = [
    Route("/2015-03-31/functions/{name}/invocations", invoke, methods=["POST"], name="Invoke"),
    Route("/_nimbus/metrics", metrics_json, methods=["GET"], name="Metrics"),
    Route("/metrics", metrics_prometheus, methods=["GET"], name="PrometheusMetrics"),
]
