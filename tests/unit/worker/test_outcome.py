"""How each way an invocation or Init can end is reported to the caller."""

from __future__ import annotations

import json
from typing import Any

from nimbus.worker.outcome import (
    Exited,
    FunctionFailed,
    InitFailed,
    Ok,
    ResponseTooLarge,
    TimedOut,
    Truncated,
    verdict,
)

RID = "rid-1"


def body(payload: bytes) -> Any:
    return json.loads(payload)


def test_response_is_passed_through_and_keeps_the_environment() -> None:
    result = verdict(Ok(body=b'{"a": 1}'), request_id=RID, now_s=0)
    assert (result.payload, result.function_error, result.environment_dead) == (
        b'{"a": 1}',
        None,
        False,
    )
    assert result.log_lines == ()


def test_a_stream_cut_short_fails_and_retires_the_environment() -> None:
    result = verdict(Truncated(), request_id=RID, now_s=0)
    assert body(result.payload)["errorType"] == "Runtime.TruncatedResponse"
    assert result.function_error == "Unhandled" and result.environment_dead


def test_function_error_keeps_its_body_or_gets_one_from_its_type() -> None:
    posted = verdict(FunctionFailed(body=b'{"errorType": "E"}'), request_id=RID, now_s=0)
    assert posted.payload == b'{"errorType": "E"}' and posted.function_error == "Unhandled"
    assert not posted.environment_dead
    empty = verdict(FunctionFailed(error_type="Custom.Error"), request_id=RID, now_s=0)
    assert body(empty.payload) == {"errorType": "Custom.Error", "errorMessage": ""}
    untyped = verdict(FunctionFailed(), request_id=RID, now_s=0)
    assert body(untyped.payload) == {"errorType": "Unhandled", "errorMessage": ""}


def test_response_too_large() -> None:
    result = verdict(ResponseTooLarge(), request_id=RID, now_s=0)
    assert body(result.payload) == {
        "errorType": "Function.ResponseSizeTooLarge",
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
    }
    assert result.function_error == "Unhandled" and not result.environment_dead


def test_timeout_kills_the_environment_and_logs_the_line() -> None:
    result = verdict(TimedOut(after_s=3), request_id=RID, now_s=0)
    assert body(result.payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: rid-1 Error: Task timed out after 3.00 seconds",
    }
    assert result.environment_dead and result.function_error == "Unhandled"
    assert result.log_lines == ("1970-01-01T00:00:00.000Z rid-1 Task timed out after 3.00 seconds",)


def test_exit_and_oom() -> None:
    crashed = verdict(Exited(status=2), request_id=RID, now_s=0)
    assert body(crashed.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: rid-1 Error: Runtime exited with error: exit status 2",
    }
    assert crashed.environment_dead
    assert crashed.log_lines == (
        "RequestId: rid-1 Error: Runtime exited with error: exit status 2",
        "Runtime.ExitError",
    )
    oom = verdict(Exited(status=-9, oom=True), request_id=RID, now_s=0)
    assert body(oom.payload) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": "RequestId: rid-1 Error: Runtime exited with error: signal: killed",
    }
    assert oom.log_lines[-1] == "Runtime.OutOfMemory"


def test_init_failures_are_fatal() -> None:
    reported = verdict(
        InitFailed(cause=FunctionFailed(body=b'{"errorType": "Runtime.ImportModuleError"}')),
        request_id=RID,
        now_s=0,
    )
    assert reported.payload == b'{"errorType": "Runtime.ImportModuleError"}'
    assert reported.environment_dead and reported.function_error == "Unhandled"
    unknown = verdict(InitFailed(cause=FunctionFailed()), request_id=RID, now_s=0)
    assert body(unknown.payload) == {"errorType": "Runtime.Unknown", "errorMessage": "Init failed"}
    slow = verdict(InitFailed(cause=TimedOut(after_s=10)), request_id=RID, now_s=0)
    message = "RequestId: rid-1 Error: Init timed out after 10.00 seconds"
    assert body(slow.payload) == {"errorType": "Sandbox.Timedout", "errorMessage": message}
    assert slow.log_lines == (message,)
    died = verdict(InitFailed(cause=Exited(status=-9, oom=True)), request_id=RID, now_s=0)
    assert body(died.payload)["errorType"] == "Runtime.OutOfMemory" and died.environment_dead
