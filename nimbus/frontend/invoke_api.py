"""Route table: Invoke (sync, async and dry run), the hottest route: see ``fast_path``."""

from __future__ import annotations

import base64
import binascii

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.errors import (
    InvalidParameterValueError,
    InvalidRequestContentError,
    RequestTooLargeError,
)
from nimbus.frontend.body import read_limited
from nimbus.frontend.ports import ConfigResolver, EventAcceptor, Invocations
from nimbus.model.arn import Arns, merge_qualifier, parse_function_ref
from nimbus.model.invoke import InvokeCall

SYNC_PAYLOAD_LIMIT = 6_291_456  # 6 MB, as AWS
MAX_CLIENT_CONTEXT = 3583  # bytes of base64, as AWS
LOG_TAIL_BYTES = 4096
INVOCATION_TYPES = ("RequestResponse", "Event", "DryRun")
PATH = "/2015-03-31/functions/{name}/invocations"


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


class InvokeApi:
    def __init__(
        self,
        *,
        invoker: Invocations,
        events: EventAcceptor,
        resolver: ConfigResolver,
        arns: Arns,
    ) -> None:
        self._invoker = invoker
        self._events = events
        self._resolver = resolver
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        # Reached only for what the fast path does not take (it serves every POST here).
        return [Route(PATH, self.invoke, methods=["POST"], name="Invoke")]

    async def invoke(self, request: Request) -> Response:
        ref = parse_function_ref(request.path_params["name"])
        self._arns.check_owner(ref)
        qualifier = merge_qualifier(ref, request.query_params.get("Qualifier"))
        invocation_type = request.headers.get("x-amz-invocation-type", "RequestResponse")
        if invocation_type not in INVOCATION_TYPES:
            raise InvalidParameterValueError(
                f"Invocation type '{invocation_type}' is not valid: use RequestResponse, Event "
                "or DryRun."
            )
        log_type = request.headers.get("x-amz-log-type", "None")
        if log_type not in ("None", "Tail"):
            raise InvalidParameterValueError(
                f"Log type '{log_type}' is not valid: use None or Tail."
            )
        payload = await read_limited(request, SYNC_PAYLOAD_LIMIT, _too_large())
        _check_json(payload)
        call = InvokeCall(
            function_name=ref.name,
            qualifier=qualifier,
            payload=payload,
            client_context=_client_context(request.headers.get("x-amz-client-context")),
            tail_logs=log_type == "Tail" and invocation_type == "RequestResponse",
            invocation_type=invocation_type,
            # A function's SDK forwards its _X_AMZN_TRACE_ID here: the loop count's carrier.
            trace_header=request.headers.get("x-amzn-trace-id"),
        )
        if invocation_type == "DryRun":
            # Validates the function and qualifier without running anything.
            await self._resolver.config(ref.name, qualifier)
            return Response(status_code=204)
        if invocation_type == "Event":
            request_id = await self._events.accept(call)
            return Response(status_code=202, headers={"x-amzn-RequestId": request_id})
        outcome = await self._invoker.invoke(call)
        headers = {
            "x-amzn-RequestId": outcome.request_id,
            "X-Amz-Executed-Version": outcome.executed_version,
        }
        if outcome.function_error is not None:
            headers["X-Amz-Function-Error"] = outcome.function_error
        if call.tail_logs:
            headers["X-Amz-Log-Result"] = tail(outcome.log_tail)
        return Response(outcome.payload, headers=headers, media_type="application/json")
