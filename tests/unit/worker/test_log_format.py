from __future__ import annotations

import json

from nimbus.worker import log_format


def test_stream_name() -> None:
    name = log_format.log_stream_name(epoch_s=0, version="$LATEST", hex32="a" * 32)
    assert name == "1970/01/01/[$LATEST]" + "a" * 32


def test_start_end_report() -> None:
    assert log_format.start_line("r1", "$LATEST") == "START RequestId: r1 Version: $LATEST"
    assert log_format.end_line("r1") == "END RequestId: r1"
    line = log_format.report_line(
        request_id="r1",
        duration_ms=1.234,
        billed_duration_ms=2,
        memory_mb=128,
        max_memory_used_mb=30,
        init_duration_ms=5.678,
    )
    assert line == (
        "REPORT RequestId: r1\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 30 MB\tInit Duration: 5.68 ms\t"
    )
    warm = log_format.report_line(
        request_id="r1",
        duration_ms=0.5,
        billed_duration_ms=1,
        memory_mb=128,
        max_memory_used_mb=30,
        init_duration_ms=None,
    )
    assert "Init Duration" not in warm


def test_billing_rounds_up_and_includes_init_when_asked() -> None:
    assert log_format.billed_ms(0.2) == 1
    assert log_format.billed_ms(1.01) == 2
    assert log_format.billed_ms(1.5, 10.2) == 12


def test_error_payloads() -> None:
    assert json.loads(log_format.timeout_payload("r", 3)) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: r Error: Task timed out after 3.00 seconds",
    }
    kind, body = log_format.exit_payload("r", 1, oom=False)
    assert kind == "Runtime.ExitError"
    assert json.loads(body)["errorMessage"] == (
        "RequestId: r Error: Runtime exited with error: exit status 1"
    )
    kind, body = log_format.exit_payload("r", -9, oom=True)
    assert kind == "Runtime.OutOfMemory"
    assert json.loads(body)["errorMessage"].endswith("signal: killed")
    assert json.loads(log_format.too_large_payload())["errorType"] == (
        "Function.ResponseSizeTooLarge"
    )
    assert log_format.timeout_log_line(epoch_s=0, request_id="r", timeout_s=1) == (
        "1970-01-01T00:00:00.000Z r Task timed out after 1.00 seconds"
    )


def test_tail_keeps_last_4kb() -> None:
    lines = [f"line {i} " + "x" * 100 for i in range(100)]
    tail = log_format.tail(lines)
    assert len(tail.encode()) <= 4096 and tail.endswith("line 99 " + "x" * 100 + "\n")
    assert log_format.tail(["a", "b"]) == "a\nb\n"
