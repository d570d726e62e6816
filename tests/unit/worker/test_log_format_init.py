"""INIT_START / INIT_REPORT lines, checked against lines AWS wrote (tabs between fields)."""

from __future__ import annotations

from nimbus.worker import log_format


def test_runtime_version_names_follow_aws() -> None:
    assert log_format.runtime_version("python3.11") == "python:3.11.v1"
    assert log_format.runtime_version("python3.9", revision=39) == "python:3.9.v39"
    assert log_format.runtime_version("nodejs20.x") == "nodejs:20.v1"
    assert log_format.runtime_version("provided.al2023", revision=97) == "provided:al2023.v97"
    assert log_format.runtime_version("provided.al2") == "provided:al2.v1"


def test_runtime_version_arn_is_stable_and_shaped_like_aws() -> None:
    arn = log_format.runtime_version_arn(region="eu-west-1", version="python:3.11.v1")
    assert arn == log_format.runtime_version_arn(region="eu-west-1", version="python:3.11.v1")
    prefix, digest = arn.rsplit(":", 1)
    assert prefix == "arn:aws:lambda:eu-west-1::runtime"
    assert len(digest) == 64 and int(digest, 16) >= 0
    other = log_format.runtime_version_arn(region="eu-west-1", version="python:3.12.v1")
    assert other != arn


def test_init_start_line() -> None:
    # As AWS: "INIT_START Runtime Version: python:3.11.v39\tRuntime Version ARN: arn:..."
    line = log_format.init_start_line(
        version="python:3.11.v39",
        version_arn="arn:aws:lambda:us-east-1::runtime:93e1685a33effc0cd2497a9a132c7328deb2e03b8a600ecae522c00fc95a1c8f",
    )
    assert line == (
        "INIT_START Runtime Version: python:3.11.v39\tRuntime Version ARN: "
        "arn:aws:lambda:us-east-1::runtime:"
        "93e1685a33effc0cd2497a9a132c7328deb2e03b8a600ecae522c00fc95a1c8f"
    )


def test_init_report_lines() -> None:
    error = log_format.init_report_line(
        duration_ms=150.789,
        phase="init",
        status="error",
        error_type="Runtime.UserCodeSyntaxError",
    )
    assert error == (
        "INIT_REPORT Init Duration: 150.79 ms\tPhase: init\tStatus: error"
        "\tError Type: Runtime.UserCodeSyntaxError"
    )
    timeout = log_format.init_report_line(duration_ms=10337.014, phase="init", status="timeout")
    assert timeout == "INIT_REPORT Init Duration: 10337.01 ms\tPhase: init\tStatus: timeout"
    invoke = log_format.init_report_line(
        duration_ms=45045.69, phase="invoke", status="error", error_type="Runtime.Unknown"
    )
    assert invoke == (
        "INIT_REPORT Init Duration: 45045.69 ms\tPhase: invoke\tStatus: error"
        "\tError Type: Runtime.Unknown"
    )
