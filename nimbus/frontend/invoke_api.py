"""Route table: Invoke (sync, async and dry run), the hottest route: see ``fast_path``; and
InvokeWithResponseStream (``stream_invoke_api``), whose requests read the same."""

from __future__ import annotations

from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.frontend.invoke_request import read_call, tail
from nimbus.frontend.ports import (
    ConfigResolver,
    EventAcceptor,
    Invocations,
    StreamInvocations,
)
from nimbus.frontend.stream_invoke_api import PATH as STREAM_PATH
from nimbus.frontend.stream_invoke_api import StreamInvokeApi
from nimbus.model.arn import Arns

PATH = "/2015-03-31/functions/{name}/invocations"


class Invoker(Invocations, StreamInvocations, Protocol):
    """Both ways of running a synchronous invocation (``dataplane.invoker.Invoker``)."""


class InvokeApi:
    def __init__(
        self,
        *,
        invoker: Invoker,
        events: EventAcceptor,
        resolver: ConfigResolver,
        arns: Arns,
    ) -> None:
        self._invoker = invoker
        self._events = events
        self._resolver = resolver
        self._arns = arns
        self._streams = StreamInvokeApi(invoker=invoker, resolver=resolver, arns=arns)

    def routes(self) -> list[BaseRoute]:
        # Invoke is reached only for what the fast path does not take (it serves every POST
        # there); InvokeWithResponseStream always comes this way.
        return [
            Route(PATH, self.invoke, methods=["POST"], name="Invoke"),
            Route(
                STREAM_PATH, self.invoke_stream, methods=["POST"], name="InvokeWithResponseStream"
            ),
        ]

    async def invoke_stream(self, request: Request) -> Response:
        return await self._streams.invoke(request)

    async def invoke(self, request: Request) -> Response:
        call = await read_call(request, self._arns)
        invocation_type = call.invocation_type
        if invocation_type == "DryRun":
            # Validates the function and qualifier without running anything.
            await self._resolver.config(call.function_name, call.qualifier)
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
