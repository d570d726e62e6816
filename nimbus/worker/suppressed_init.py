"""A suppressed init that failed (pure): how the invocation ends whose Init, run again in it
after an on-demand Init failed or overran (``init_phase``), failed too, and what that Init's
INIT_REPORT line (``Phase: invoke``) says.

When the function's timeout runs out during that Init, AWS reports the invocation as timed
out ("Task timed out", Sandbox.Timedout) and the Init as an error of no known type
(observed: "Phase: invoke\\tStatus: error\\tError Type: Runtime.Unknown"). Any other failure
ends the invocation as the Init's failure, reported as a first Init's would be.
"""

from __future__ import annotations

from nimbus.worker import log_format
from nimbus.worker.outcome import Exited, FunctionFailed, InitFailed, Outcome, TimedOut, init_report


def failed(
    cause: FunctionFailed | Exited | TimedOut, *, duration_ms: float, timeout_s: float
) -> tuple[Outcome, str]:
    """The outcome that ends the invocation, and the Init's INIT_REPORT line."""
    outcome: Outcome
    status: str
    error_type: str | None
    if isinstance(cause, TimedOut):
        status, error_type = "error", "Runtime.Unknown"
        outcome = TimedOut(after_s=float(timeout_s))
    else:
        status, error_type = init_report(cause)
        outcome = InitFailed(cause=cause)
    report = log_format.init_report_line(
        duration_ms=duration_ms, phase="invoke", status=status, error_type=error_type
    )
    return outcome, report
