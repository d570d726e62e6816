"""How a streamed invocation ended, as the data plane reports it to whoever streamed it
(InvokeWithResponseStream's ``InvokeComplete``, a RESPONSE_STREAM function URL)."""

from __future__ import annotations

from dataclasses import dataclass

# What the function's stream is when it says nothing (AWS's Node.js runtime's default), and
# what a function that answered with one buffered response is.
DEFAULT_STREAM_CONTENT_TYPE = "application/octet-stream"
BUFFERED_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, kw_only=True)
class StreamOutcome:
    """The end of one streamed invocation.

    ``error_code`` is None when the function succeeded; otherwise the error's type: what
    the function reported (a mid-stream error trailer, an error posted before streaming, an
    exception its runtime caught) or the platform's (``Sandbox.Timedout``,
    ``Function.ResponseSizeTooLarge``, ``Runtime.ExitError``, ...). ``error_details`` is then
    the error document (JSON with ``errorType`` and ``errorMessage``, as a buffered Invoke
    returns it). ``log_tail`` is the invocation's log (START..REPORT, at most 4 KB) when the
    caller asked for it, else ""."""

    error_code: str | None = None
    error_details: str | None = None
    log_tail: str = ""
