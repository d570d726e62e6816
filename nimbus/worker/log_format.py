"""The lines and payloads Lambda's platform itself writes, formatted exactly as AWS does (pure).

START/END/REPORT lines are what CloudWatch shows for every invocation, INIT_START for every
Init and INIT_REPORT for an Init that failed; the error payloads are what an invoke returns when
the platform (not the function) ends an invocation.
"""

from __future__ import annotations

import hashlib
import json
import math
import time

MAX_RESPONSE_BYTES = 6_291_556  # AWS's synchronous response limit ("6 MB")
LOG_TAIL_BYTES = 4096  # X-Amz-Log-Result carries the last 4 KB


def log_stream_name(*, epoch_s: float, version: str, hex32: str) -> str:
    """``2024/01/31/[$LATEST]0123...``: date of creation, version, 32 hex chars, as AWS."""
    day = time.strftime("%Y/%m/%d", time.gmtime(epoch_s))
    return f"{day}/[{version}]{hex32}"


def start_line(request_id: str, version: str) -> str:
    return f"START RequestId: {request_id} Version: {version}"


def end_line(request_id: str) -> str:
    return f"END RequestId: {request_id}"


def runtime_version(runtime: str, revision: int = 1) -> str:
    """AWS's name for a runtime's version: ``python3.11`` -> ``python:3.11.v1``,
    ``nodejs20.x`` -> ``nodejs:20.v1``, ``provided.al2023`` -> ``provided:al2023.v1``.
    ``revision`` counts Nimbus's own changes to a runtime (AWS counts its patch releases)."""
    for family in ("python", "nodejs", "provided"):
        if runtime.startswith(family):
            rest = runtime[len(family) :].lstrip(".").removesuffix(".x")
            return f"{family}:{rest}.v{revision}"
    return f"{runtime}.v{revision}"


def runtime_version_arn(*, region: str, version: str) -> str:
    """``arn:aws:lambda:<region>::runtime:<64 hex>``, as AWS's; the hash names the version,
    so it is the same on every start of the same runtime version."""
    digest = hashlib.sha256(f"nimbus:{version}".encode()).hexdigest()
    return f"arn:aws:lambda:{region}::runtime:{digest}"


def init_start_line(*, version: str, version_arn: str) -> str:
    """Written at every Init, before the function's own output (fields tab-separated)."""
    return f"INIT_START Runtime Version: {version}\tRuntime Version ARN: {version_arn}"


def init_report_line(
    *, duration_ms: float, phase: str, status: str, error_type: str | None = None
) -> str:
    """Written when an Init fails: ``phase`` is ``init`` (the Init phase proper) or
    ``invoke`` (Init re-run inside the first invocation, a "suppressed init"); ``status``
    is ``error`` or ``timeout``."""
    fields = [
        f"INIT_REPORT Init Duration: {duration_ms:.2f} ms",
        f"Phase: {phase}",
        f"Status: {status}",
    ]
    if error_type:
        fields.append(f"Error Type: {error_type}")
    return "\t".join(fields)


def billed_ms(duration_ms: float, init_ms: float | None = None) -> int:
    """AWS bills per millisecond, rounded up, at least 1 ms. Custom runtimes (``provided``)
    are also billed for Init, so callers pass ``init_ms`` for those."""
    total = duration_ms + (init_ms or 0.0)
    return max(1, math.ceil(total))


def report_line(
    *,
    request_id: str,
    duration_ms: float,
    billed_duration_ms: int,
    memory_mb: int,
    max_memory_used_mb: int,
    init_duration_ms: float | None,
) -> str:
    # AWS separates fields with tabs and ends the line with one.
    fields = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed_duration_ms} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_memory_used_mb} MB",
    ]
    if init_duration_ms is not None:
        fields.append(f"Init Duration: {init_duration_ms:.2f} ms")
    return "\t".join(fields) + "\t"


def timeout_log_line(*, epoch_s: float, request_id: str, timeout_s: float) -> str:
    """The line CloudWatch shows when the deadline passes: ``<iso time> <id> Task timed out...``."""
    return f"{iso_ms(epoch_s)} {request_id} Task timed out after {timeout_s:.2f} seconds"


def iso_ms(epoch_s: float) -> str:
    millis = int(epoch_s * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch_s)) + f".{millis:03d}Z"


def error_payload(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


def timeout_payload(request_id: str, timeout_s: float) -> bytes:
    return error_payload(
        "Sandbox.Timedout",
        f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds",
    )


def exit_description(status: int) -> str:
    """Go-style text the Lambda platform uses: ``exit status 1`` or ``signal: killed``."""
    if status >= 0:
        return f"exit status {status}"
    return f"signal: {_SIGNAL_WORDS.get(-status, f'signal {-status}')}"


_SIGNAL_WORDS = {
    1: "hangup",
    2: "interrupt",
    3: "quit",
    4: "illegal instruction",
    6: "aborted",
    7: "bus error",
    8: "floating point exception",
    9: "killed",
    11: "segmentation fault",
    13: "broken pipe",
    15: "terminated",
}


def exit_payload(request_id: str, status: int, *, oom: bool) -> tuple[str, bytes]:
    """(errorType, payload) for a runtime that died mid-invocation or during Init."""
    error_type = "Runtime.OutOfMemory" if oom else "Runtime.ExitError"
    description = exit_description(status)
    message = f"RequestId: {request_id} Error: Runtime exited with error: {description}"
    return error_type, error_payload(error_type, message)


def too_large_payload() -> bytes:
    return error_payload(
        "Function.ResponseSizeTooLarge",
        "Response payload size exceeded maximum allowed payload size "
        f"({MAX_RESPONSE_BYTES} bytes).",
    )


def tail(lines: list[str], limit: int = LOG_TAIL_BYTES) -> str:
    """The last ``limit`` bytes of the joined lines, cut on a character boundary."""
    text = "".join(line + "\n" for line in lines)
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[-limit:].decode("utf-8", errors="ignore")
