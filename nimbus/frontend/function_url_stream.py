"""Function URLs with ``InvokeMode=RESPONSE_STREAM``: the response reaches the client as the
function writes it (chunked transfer encoding), as AWS streams it ("Configuring a Lambda
function to stream responses"):

- A function that streams through ``HttpResponseStream.from`` (or Python's prelude) sends a
  JSON prelude — ``statusCode``, ``headers``, ``cookies`` — then eight NUL bytes, then the
  body: the prelude is the response's head, the rest its body. A stream without one is
  the body itself, 200, with the stream's content type.
- A function that answers buffered (no streaming in its handler) gets the buffered URL
  mapping (``web.payload_v2``), as AWS treats it.
- Failing before the first byte is a 502 (504 for its timeout), as a buffered URL answers;
  failing after the head has gone out ends the body early — the status is already sent.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from nimbus.errors import NimbusError, RequestTooLargeError, TooManyRequestsError
from nimbus.frontend.http_endpoints import Reply, StreamedResponse
from nimbus.frontend.ports import StreamedInvocation, StreamInvocations
from nimbus.model.http_prelude import HTTP_INTEGRATION_CONTENT_TYPE, InvalidPrelude, split_prelude
from nimbus.model.invoke import InvokeCall
from nimbus.web.http_request import HttpResponse, text_response
from nimbus.web.payload_v2 import BadFunctionResponse, response_v2, safe_headers

log = logging.getLogger(__name__)

TIMEOUT_ERROR = "Sandbox.Timedout"
BUFFERED = "application/json"  # what a buffered answer (or a failure) says it is

# (status, headers) -> the headers to send: CORS and x-amzn-RequestId, added by the server.
Finish = Callable[[int, tuple[tuple[str, str], ...]], tuple[tuple[str, str], ...]]


def failed(error_code: str | None) -> HttpResponse:
    """A function error before any byte reached the client."""
    if error_code == TIMEOUT_ERROR:
        return text_response(504, "Gateway Timeout")
    return text_response(502, "Internal Server Error")


def refused(exc: NimbusError) -> HttpResponse:
    """An invocation that could not start."""
    if isinstance(exc, TooManyRequestsError):
        return text_response(429, "Rate Exceeded.")
    if isinstance(exc, RequestTooLargeError):
        return text_response(413, "Request Entity Too Large")
    return text_response(502, "Internal Server Error")


def _finished(response: HttpResponse, finish: Finish) -> HttpResponse:
    return HttpResponse(
        status=response.status,
        headers=finish(response.status, response.headers),
        body=response.body,
    )


async def stream_reply(invoker: StreamInvocations, call: InvokeCall, finish: Finish) -> Reply:
    """The reply to one RESPONSE_STREAM request; the invocation's context stays open until
    the body has been sent (or the client is gone)."""
    stack = contextlib.AsyncExitStack()
    try:
        invocation = await stack.enter_async_context(invoker.invoke_stream(call))
    except NimbusError as exc:
        return _finished(refused(exc), finish)
    try:
        kind = await invocation.content_type()
        chunks = aiter(invocation.chunks())
        if kind == BUFFERED:
            body = b"".join([chunk async for chunk in chunks])
            outcome = await invocation.outcome()
            await stack.aclose()
            if outcome.error_code is not None:
                return _finished(failed(outcome.error_code), finish)
            try:
                return _finished(response_v2(body), finish)
            except BadFunctionResponse:
                return _finished(text_response(502, "Internal Server Error"), finish)
        status, headers, first = await _head(kind, chunks, invocation)
    except BadFunctionResponse:
        await stack.aclose()
        return _finished(text_response(502, "Internal Server Error"), finish)
    except BaseException:
        await stack.aclose()
        raise
    return StreamedResponse(
        status=status,
        headers=finish(status, headers),
        chunks=_body(first, chunks),
        close=stack.aclose,
    )


async def _head(
    kind: str, chunks: AsyncIterator[bytes], invocation: StreamedInvocation
) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
    """(status, headers, the body's first bytes). Raises BadFunctionResponse when the
    stream cannot become a response (a bad prelude, or a failure before any byte)."""
    if kind != HTTP_INTEGRATION_CONTENT_TYPE:
        # The runtime's Content-Type is the function's choice: checked as any header it sets.
        return 200, safe_headers([("content-type", kind)]), b""
    seen = b""
    async for chunk in chunks:
        seen += chunk
        try:
            split = split_prelude(seen)
        except InvalidPrelude as exc:
            raise BadFunctionResponse(str(exc)) from exc
        if split is not None:
            prelude = split.prelude
            if not 100 <= prelude.status_code <= 599:
                raise BadFunctionResponse(f"statusCode {prelude.status_code} is not HTTP")
            headers = safe_headers(
                [*prelude.headers, *(("set-cookie", c) for c in prelude.cookies)]
            )
            return prelude.status_code, headers, split.body
    outcome = await invocation.outcome()
    raise BadFunctionResponse(f"the stream ended before its prelude ({outcome.error_code})")


async def _body(first: bytes, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    if first:
        yield first
    async for chunk in chunks:
        yield chunk
