"""An invocation as the frontend and the event poller hand it to the data plane."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class InvokeCall:
    function_name: str  # plain name (already parsed from a name/ARN)
    qualifier: str | None = None  # None, "$LATEST", a version number or an alias
    payload: bytes = b""
    client_context: str | None = None  # JSON text (decoded X-Amz-Client-Context)
    tail_logs: bool = False
    # Set by the event poller so that every retry of one event keeps its request id.
    request_id: str | None = None
    invocation_type: str = "RequestResponse"  # or "Event" (set by the async path)
    # The caller's X-Amzn-Trace-Id (from the request, an async event, a queue message's
    # AWSTraceHeader): its Lineage field counts a recursive loop's hops (events/lineage.py).
    trace_header: str | None = None


@dataclass(frozen=True, kw_only=True)
class InvokeOutcome:
    request_id: str
    executed_version: str
    payload: bytes
    function_error: str | None = None  # "Unhandled" when the function failed
    log_tail: str = ""  # already trimmed to 4 KB; base64 it for X-Amz-Log-Result
    duration_ms: float = 0.0
    # The trace header the invocation ran with (its lineage), for what it sends on:
    # destinations carry it, as a function's own SDK calls do.
    trace_id: str = ""
