"""InvokeWithResponseStream (botocore's lambda model,
``POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations``).

``InvokeApi`` routes it here. Its request reads as Invoke's does (``invoke_request``), with
RequestResponse and DryRun the only invocation types. Everything that stops a function from
running (unknown function, throttle, not active) is an ordinary error response; once it runs,
the answer is 200 with ``X-Amz-Executed-Version`` and the function's stream content type as
``Content-Type``, and the body is an event stream (``event_stream``): a ``PayloadChunk`` for
the bytes the function writes, as they come, then one ``InvokeComplete`` with the function's
error, if any, and the log tail when ``LogType=Tail`` was asked for.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nimbus.frontend import event_stream
from nimbus.frontend.invoke_request import read_call, tail
from nimbus.frontend.ports import ConfigResolver, StreamedInvocation, StreamInvocations
from nimbus.model.arn import Arns

PATH = "/2021-11-15/functions/{name}/response-streaming-invocations"
INVOCATION_TYPES = ("RequestResponse", "DryRun")  # botocore: ResponseStreamingInvocationType


class StreamInvokeApi:
    def __init__(self, *, invoker: StreamInvocations, resolver: ConfigResolver, arns: Arns) -> None:
        self._invoker = invoker
        self._resolver = resolver
        self._arns = arns

    async def invoke(self, request: Request) -> Response:
        call = await read_call(request, self._arns, INVOCATION_TYPES)
        if call.invocation_type == "DryRun":
            await self._resolver.config(call.function_name, call.qualifier)
            return Response(status_code=204)
        running = self._invoker.invoke_stream(call)
        invocation = await running.__aenter__()  # raises before anything is sent
        return EventStreamResponse(invocation, running, tail_logs=call.tail_logs)


class EventStreamResponse(Response):
    """The event stream of one running invocation; sending it (or failing to) leaves the
    invocation's context, so nothing the function writes after waits for a reader."""

    def __init__(
        self,
        invocation: StreamedInvocation,
        running: AbstractAsyncContextManager[StreamedInvocation],
        *,
        tail_logs: bool,
    ) -> None:
        super().__init__(status_code=200)
        self._invocation = invocation
        self._running = running
        self._tail_logs = tail_logs

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        invocation = self._invocation
        try:
            # The head goes out when the function starts its response: only then is its
            # content type known. A client that has gone away makes every send a no-op
            # (uvicorn), so the stream is still read to its end and dropped.
            content_type = await invocation.content_type()
            headers = [
                (b"content-type", content_type.encode("latin-1", errors="replace")),
                (b"x-amz-executed-version", invocation.executed_version.encode()),
                (b"x-amzn-requestid", invocation.request_id.encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            async for data in invocation.chunks():
                body = event_stream.payload_chunk(data)
                await send({"type": "http.response.body", "body": body, "more_body": True})
            outcome = await invocation.outcome()
            complete = event_stream.invoke_complete(
                error_code=outcome.error_code,
                error_details=outcome.error_details,
                log_result=tail(outcome.log_tail) if self._tail_logs else None,
            )
            await send({"type": "http.response.body", "body": complete, "more_body": False})
        finally:
            await self._running.__aexit__(None, None, None)
