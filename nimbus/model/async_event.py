"""An accepted asynchronous invocation, as the event queue holds it between attempts."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class AsyncEvent:
    id: str  # the request id of the 202; every attempt runs with it
    function: str
    qualifier: str | None
    payload: bytes
    client_context: str | None = None
    enqueued_at: float
    next_attempt_at: float
    function_errors: int = 0  # attempts that ended in a function error
    backoffs: int = 0  # consecutive throttles / system errors
    invokes: int = 0  # attempts that reached the function (approximateInvokeCount)
    last_response: str | None = None  # JSON of the last failed response, for the record
    # The X-Amzn-Trace-Id it was accepted with: its Lineage counts a recursive loop's hops.
    trace_header: str | None = None
