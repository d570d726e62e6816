"""A suppressed init that fails (pure): the timeout running out during it times the
invocation out with an INIT_REPORT of no known type, as AWS reports it; any other failure
ends the invocation as that Init's failure."""

from __future__ import annotations

from nimbus.worker import suppressed_init
from nimbus.worker.outcome import FunctionFailed, InitFailed, TimedOut


def test_the_timeout_running_out_during_init_times_the_invocation_out() -> None:
    outcome, report = suppressed_init.failed(TimedOut(after_s=2.5), duration_ms=2500, timeout_s=3)
    assert outcome == TimedOut(after_s=3.0)
    assert report == (
        "INIT_REPORT Init Duration: 2500.00 ms\tPhase: invoke\tStatus: error"
        "\tError Type: Runtime.Unknown"
    )


def test_any_other_failure_ends_the_invocation_as_the_init_failure() -> None:
    cause = FunctionFailed(body=b"{}", error_type="Runtime.ImportModuleError")
    outcome, report = suppressed_init.failed(cause, duration_ms=12.5, timeout_s=3)
    assert outcome == InitFailed(cause=cause)
    assert report.endswith("\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError")
