"""A streamed invocation as its caller sees it (InvokeWithResponseStream, a RESPONSE_STREAM
function URL): the function's bytes as it writes them, then how it ended.

The invocation itself runs in a task of its own (``Invoker.invoke_stream``), holding its
concurrency lease and environment until the function is done, whether or not anyone still
reads: a caller that goes away abandons the stream (the rest is dropped, the function is not
stalled), as AWS lets the function run on. How the end maps to ``InvokeComplete`` is pure
(``stream_outcome``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from nimbus.errors import NimbusError, public_reason
from nimbus.model.invocation import InvocationResult
from nimbus.model.streaming import BUFFERED_CONTENT_TYPE, StreamOutcome
from nimbus.worker.log_format import error_payload
from nimbus.worker.response_stream import EndKind, ResponseStream, StreamEnd

# What the invocation task ends with: the environment's result, or what broke it after the
# stream had been handed out (a failure before then is raised by invoke_stream itself).
Ran = InvocationResult | Exception


def error_code_of(payload: bytes) -> str:
    """The ``errorType`` of an error document (every error payload Lambda's platform and
    runtimes produce has one), else ``Unhandled`` (pure)."""
    try:
        decoded = json.loads(payload)
    except (ValueError, RecursionError):
        return "Unhandled"
    value = decoded.get("errorType") if isinstance(decoded, dict) else None
    return value if isinstance(value, str) and value else "Unhandled"


def stream_outcome(*, began: bool, end: StreamEnd | None, ran: Ran, limit: int) -> StreamOutcome:
    """How a streamed invocation ended (pure). The invocation's own failure (a timeout, the
    runtime exiting, an error posted before streaming, a body cut short) comes first; then
    what ended the stream: the size limit, or the runtime's error trailers."""
    if isinstance(ran, Exception):
        code = ran.error_type if isinstance(ran, NimbusError) else "ServiceException"
        return StreamOutcome(
            error_code=code, error_details=error_payload(code, public_reason(ran)).decode()
        )
    tail = ran.log_tail
    if ran.function_error is not None:
        return StreamOutcome(
            error_code=error_code_of(ran.payload),
            error_details=ran.payload.decode(errors="replace"),
            log_tail=tail,
        )
    if began and end is not None and end.kind is EndKind.TOO_LARGE:
        code = "Function.ResponseSizeTooLarge"
        message = f"Response payload size exceeded maximum allowed payload size ({limit} bytes)."
        return StreamOutcome(
            error_code=code, error_details=error_payload(code, message).decode(), log_tail=tail
        )
    if began and end is not None and end.error_type:
        details = end.error_body or error_payload(end.error_type, "")
        return StreamOutcome(
            error_code=end.error_type,
            error_details=details.decode(errors="replace"),
            log_tail=tail,
        )
    return StreamOutcome(log_tail=tail)


class StreamingInvocation:
    """One streamed invocation, handed out by ``Invoker.invoke_stream`` once it has its
    concurrency and its environment. Read ``content_type()``, then ``chunks()`` to the end,
    then ``outcome()``."""

    def __init__(
        self,
        *,
        request_id: str,
        executed_version: str,
        stream: ResponseStream,
        ran: asyncio.Future[Ran],
    ) -> None:
        self._request_id = request_id
        self._executed_version = executed_version
        self._stream = stream
        self._ran = ran

    @property
    def request_id(self) -> str:
        return self._request_id

    @property
    def executed_version(self) -> str:
        return self._executed_version

    async def content_type(self) -> str:
        """The stream's content type, once the function starts its response: what its
        runtime declared for a streamed one, ``application/json`` for one buffered
        response (or none, when the function failed)."""
        await self._stream.started()
        return self._stream.content_type or BUFFERED_CONTENT_TYPE

    async def chunks(self) -> AsyncIterator[bytes]:
        """The function's bytes, as it writes them; a function that answered with one
        buffered response yields it whole, as AWS sends it (one PayloadChunk). Nothing when
        it failed before streaming (``outcome`` says how)."""
        while (data := await self._stream.read()) is not None:
            if data:
                yield data
        if not self._stream.began:
            ran = await asyncio.shield(self._ran)
            if isinstance(ran, InvocationResult) and ran.function_error is None and ran.payload:
                yield ran.payload

    async def outcome(self) -> StreamOutcome:
        """How it ended, once the function is done (after the last chunk)."""
        ran = await asyncio.shield(self._ran)
        stream = self._stream
        return stream_outcome(began=stream.began, end=stream.end, ran=ran, limit=stream.limit_bytes)
