"""The Init phase's limits and retry rule, and what INIT_REPORT says of each Init outcome."""

from __future__ import annotations

from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.init_phase import init_limit_s, retried_in_invoke
from nimbus.worker.outcome import Exited, FunctionFailed, TimedOut, init_report


def spec(initialization_type: str, timeout_s: int = 3) -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name="f",
        function_version="$LATEST",
        function_arn="arn:f",
        runtime="python3.11",
        handler="app.h",
        code_dir=Path("/nonexistent"),
        timeout_s=timeout_s,
        initialization_type=initialization_type,
    )


def test_on_demand_init_has_the_host_limit_and_is_retried() -> None:
    assert init_limit_s(spec("on-demand")) == 10.0
    assert init_limit_s(spec("on-demand", timeout_s=900), 1.5) == 1.5
    assert retried_in_invoke(spec("on-demand"))


def test_provisioned_init_may_take_130_s_or_the_timeout_and_is_not_retried() -> None:
    assert init_limit_s(spec("provisioned-concurrency", timeout_s=3), 1.0) == 130.0
    assert init_limit_s(spec("provisioned-concurrency", timeout_s=600)) == 600.0
    assert not retried_in_invoke(spec("provisioned-concurrency"))


def test_init_report_status_and_error_type() -> None:
    assert init_report(TimedOut(after_s=10.0)) == ("timeout", None)
    assert init_report(Exited(status=1)) == ("error", "Runtime.ExitError")
    assert init_report(Exited(status=-9, oom=True)) == ("error", "Runtime.OutOfMemory")
    header = FunctionFailed(body=b'{"errorType": "X"}', error_type="Runtime.ImportModuleError")
    assert init_report(header) == ("error", "Runtime.ImportModuleError")
    body = FunctionFailed(body=b'{"errorType": "Runtime.InvalidEntrypoint", "errorMessage": ""}')
    assert init_report(body) == ("error", "Runtime.InvalidEntrypoint")
    assert init_report(FunctionFailed(body=b"not json")) == ("error", "Runtime.Unknown")
    assert init_report(FunctionFailed(body=b'["a"]')) == ("error", "Runtime.Unknown")
    assert init_report(FunctionFailed()) == ("error", "Runtime.Unknown")
