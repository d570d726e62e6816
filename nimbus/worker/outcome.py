"""How an invocation or an Init phase ended, and what the caller is told about it (pure).

The Runtime API sees the runtime answer (``Ok``, ``FunctionFailed``, ``ResponseTooLarge``);
the host sees the sandbox die (``Exited``) or the deadline pass (``TimedOut``). An Init that
failed is replayed on the first invoke as ``InitFailed``. ``verdict`` maps each to the payload,
function error and platform log lines AWS produces for it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import assert_never

from nimbus.worker import log_format
from nimbus.worker.response_stream import EndKind, StreamEnd


@dataclass(frozen=True, kw_only=True)
class Ok:
    """The runtime posted a response (or, for Init, asked for its first invocation)."""

    body: bytes = b""


@dataclass(frozen=True, kw_only=True)
class FunctionFailed:
    """The runtime posted an error (``/invocation/{id}/error`` or ``/init/error``).

    ``body`` is empty when the runtime sent none or sent more than the Runtime API accepts."""

    body: bytes = b""
    error_type: str = ""  # the Lambda-Runtime-Function-Error-Type header


@dataclass(frozen=True, kw_only=True)
class ResponseTooLarge:
    """The runtime's response exceeded AWS's synchronous limit; it was told 413."""


@dataclass(frozen=True, kw_only=True)
class Truncated:
    """The runtime's streamed response ended before its last chunk (its connection lost, a
    malformed chunk): the emulator's ``Runtime.TruncatedResponse``. The runtime is not
    trusted with another invocation."""


@dataclass(frozen=True, kw_only=True)
class Exited:
    """The runtime process died before answering. ``status`` is the exit code, or minus the
    signal number; ``oom`` is whether the sandbox's memory limit killed it."""

    status: int
    oom: bool = False


@dataclass(frozen=True, kw_only=True)
class TimedOut:
    """No answer within ``after_s`` seconds (the function's Timeout, or Init's limit)."""

    after_s: float


# What the Runtime API itself can report.
RuntimeReply = Ok | FunctionFailed | ResponseTooLarge | Truncated
# How an Init phase ends (Ok: the runtime reached its first /next).
InitOutcome = Ok | FunctionFailed | Exited | TimedOut


TRUNCATED_TYPE = "Runtime.TruncatedResponse"  # the emulator's type for a body cut short


def streamed_reply(end: StreamEnd, buffered: bytes | None) -> RuntimeReply:
    """What a streamed response that ended as ``end`` tells the invocation. ``buffered`` is
    its whole body when the caller invoked it buffered (plain Invoke: AWS collects the
    stream up to the 6 MB limit), None when the caller streams it on: then the stream itself
    carries any error trailers or the size error to the caller, and the invocation is done.
    A body cut short (the connection lost, a malformed chunk) is ``Truncated`` either way."""
    if end.kind is EndKind.TRUNCATED:
        return Truncated()
    if buffered is None:
        return Ok()
    if end.kind is EndKind.TOO_LARGE:
        return ResponseTooLarge()
    if end.error_type:
        body = end.error_body or log_format.error_payload(end.error_type, "")
        return FunctionFailed(body=body, error_type=end.error_type)
    return Ok(body=buffered)


@dataclass(frozen=True, kw_only=True)
class InitFailed:
    """Init ended in ``cause``; the invoke that triggered the cold start reports it."""

    cause: FunctionFailed | Exited | TimedOut


Outcome = Ok | FunctionFailed | ResponseTooLarge | Truncated | Exited | TimedOut | InitFailed


@dataclass(frozen=True, kw_only=True)
class Verdict:
    payload: bytes
    function_error: str | None  # "Unhandled" for every failure, as AWS's X-Amz-Function-Error
    environment_dead: bool  # the sandbox must not serve another invocation
    log_lines: tuple[str, ...] = ()  # platform lines written before END


def verdict(outcome: Outcome, *, request_id: str, now_s: float) -> Verdict:
    """What an invoke returns for ``outcome`` (``now_s``: epoch seconds, for timeout lines)."""
    match outcome:
        case Ok(body=body):
            return Verdict(payload=body, function_error=None, environment_dead=False)
        case FunctionFailed(body=body, error_type=error_type):
            payload = body or log_format.error_payload(error_type or "Unhandled", "")
            return Verdict(payload=payload, function_error="Unhandled", environment_dead=False)
        case ResponseTooLarge():
            return Verdict(
                payload=log_format.too_large_payload(),
                function_error="Unhandled",
                environment_dead=False,
            )
        case Truncated():
            message = "The runtime's streamed response ended before it was complete."
            return Verdict(
                payload=log_format.error_payload(TRUNCATED_TYPE, message),
                function_error="Unhandled",
                environment_dead=True,
            )
        case TimedOut(after_s=after_s):
            return Verdict(
                payload=log_format.timeout_payload(request_id, after_s),
                function_error="Unhandled",
                environment_dead=True,
                log_lines=(
                    log_format.timeout_log_line(
                        epoch_s=now_s, request_id=request_id, timeout_s=after_s
                    ),
                ),
            )
        case Exited(status=status, oom=oom):
            return _exited(request_id, status, oom)
        case InitFailed(cause=cause):
            return _init_failed(request_id, cause)
        case _:
            assert_never(outcome)


def _init_failed(request_id: str, cause: FunctionFailed | Exited | TimedOut) -> Verdict:
    # AWS re-runs a failed Init inside the invoke and then discards the sandbox.
    match cause:
        case FunctionFailed(body=body, error_type=error_type):
            payload = body or log_format.error_payload(
                error_type or "Runtime.Unknown", "Init failed"
            )
            return Verdict(payload=payload, function_error="Unhandled", environment_dead=True)
        case TimedOut(after_s=after_s):
            message = f"RequestId: {request_id} Error: Init timed out after {after_s:.2f} seconds"
            return Verdict(
                payload=log_format.error_payload("Sandbox.Timedout", message),
                function_error="Unhandled",
                environment_dead=True,
                log_lines=(message,),
            )
        case Exited(status=status, oom=oom):
            return _exited(request_id, status, oom)
        case _:
            assert_never(cause)


def _exited(request_id: str, status: int, oom: bool) -> Verdict:
    error_type, payload = log_format.exit_payload(request_id, status, oom=oom)
    line = (
        f"RequestId: {request_id} Error: Runtime exited with error: "
        f"{log_format.exit_description(status)}"
    )
    return Verdict(
        payload=payload,
        function_error="Unhandled",
        environment_dead=True,
        log_lines=(line, error_type),
    )


def init_report(cause: FunctionFailed | Exited | TimedOut) -> tuple[str, str | None]:
    """(Status, Error Type) of the INIT_REPORT line for an Init that ended in ``cause``:
    ``timeout`` with no type, or ``error`` with the type the runtime reported (its
    Lambda-Runtime-Function-Error-Type header, else its payload's errorType), the exit
    error for a runtime that died, ``Runtime.Unknown`` when nothing says more."""
    match cause:
        case TimedOut():
            return "timeout", None
        case Exited(status=status, oom=oom):
            return "error", log_format.exit_payload("", status, oom=oom)[0]
        case FunctionFailed(body=body, error_type=error_type):
            return "error", error_type or _payload_error_type(body) or "Runtime.Unknown"
        case _:
            assert_never(cause)


def _payload_error_type(body: bytes) -> str | None:
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return None
    value = decoded.get("errorType") if isinstance(decoded, dict) else None
    return value if isinstance(value, str) and value else None
