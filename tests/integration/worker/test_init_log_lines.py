"""INIT_START and INIT_REPORT lines in a function's log, as AWS writes them.

AWS writes ``INIT_START Runtime Version: python:3.11.v<N>\tRuntime Version ARN: ...`` at
every cold start, before the function's own Init output (in CloudWatch, not in the
LogType=Tail result). An Init that fails is reported by ``INIT_REPORT Init Duration: ...\t
Phase: init\tStatus: error\tError Type: ...``; on-demand, Lambda then runs Init again inside
the invocation and reports that one with ``Phase: invoke`` before START.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from tests.support import NimbusServer, create_function, make_zip

INIT_START = re.compile(
    r"INIT_START Runtime Version: (?P<version>[a-z]+:[0-9a-z.]+\.v\d+)"
    r"\tRuntime Version ARN: arn:aws:lambda:us-east-1::runtime:[0-9a-f]{64}"
)


def messages(server: NimbusServer, name: str) -> list[str]:
    with server.http(timeout=10.0) as http:  # signed: auth is on
        response = http.get(f"/_nimbus/logs/{name}")
    assert response.status_code == 200, response.text
    return [event["message"] for event in response.json()["events"]]


def deploy(lam: Any, name: str, files: dict[str, str], **overrides: Any) -> None:
    code = make_zip(files, modes={"bootstrap": 0o755})
    create_function(lam, name, code=code, **overrides)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def tail_of(response: dict[str, Any]) -> str:
    return base64.b64decode(response["LogResult"]).decode()


def test_every_cold_start_begins_with_init_start(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, {"app.py": 'print("importing")\ndef handler(e, c):\n    return 1\n'})
    first = lam.invoke(FunctionName=fname, LogType="Tail")
    second = lam.invoke(FunctionName=fname, LogType="Tail")
    assert "FunctionError" not in first and "FunctionError" not in second
    lines = messages(server, fname)
    match = INIT_START.fullmatch(lines[0])
    assert match is not None and match["version"] == "python:3.11.v1"
    assert lines[1] == "importing"
    assert sum(line.startswith("INIT_START") for line in lines) == 1  # one cold start
    assert not any(line.startswith("INIT_REPORT") for line in lines)  # Init succeeded
    assert "INIT_START" not in tail_of(first)

    lam.update_function_configuration(FunctionName=fname, MemorySize=256)
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    lam.invoke(FunctionName=fname)
    again = messages(server, fname)
    assert sum(INIT_START.fullmatch(line) is not None for line in again) == 2


def test_import_error_is_reported_for_both_inits(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, {"app.py": "import not_a_module\n"})
    response = lam.invoke(FunctionName=fname, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    lines = messages(server, fname)
    assert INIT_START.fullmatch(lines[0])
    reports = [i for i, line in enumerate(lines) if line.startswith("INIT_REPORT")]
    pattern = (
        r"INIT_REPORT Init Duration: \d+\.\d\d ms\tPhase: {phase}\tStatus: error"
        r"\tError Type: Runtime\.ImportModuleError"
    )
    assert [
        re.fullmatch(pattern.format(phase=p), lines[i]) is not None
        for p, i in zip(("init", "invoke"), reports, strict=True)
    ] == [True, True]
    start = next(i for i, line in enumerate(lines) if line.startswith("START RequestId:"))
    assert reports[1] < start
    # Each Init's own error output comes before its INIT_REPORT line.
    errors = [i for i, line in enumerate(lines) if "Runtime.ImportModuleError:" in line]
    assert len(errors) == 2 and errors[0] < reports[0] < errors[1] < reports[1]
    tail = tail_of(response)
    assert "Phase: init\tStatus: error" in tail and "Phase: invoke\tStatus: error" in tail
    assert tail.index("Phase: invoke") < tail.index("START RequestId:")


def test_custom_runtime_init_failures_name_their_error_type(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(
        lam,
        f"{fname}-exit",
        {"bootstrap": "#!/bin/sh\necho starting\nexit 3\n"},
        Runtime="provided.al2023",
        Handler="x",
    )
    lam.invoke(FunctionName=f"{fname}-exit")
    lines = messages(server, f"{fname}-exit")
    match = INIT_START.fullmatch(lines[0])
    assert match is not None and match["version"] == "provided:al2023.v1"
    assert lines[1] == "starting"
    reports = [line for line in lines if line.startswith("INIT_REPORT")]
    assert len(reports) == 2
    assert all(r.endswith("\tStatus: error\tError Type: Runtime.ExitError") for r in reports)
    assert "Phase: init\t" in reports[0] and "Phase: invoke\t" in reports[1]

    deploy(
        lam,
        f"{fname}-none",
        {"main.sh": "echo no bootstrap\n"},
        Runtime="provided.al2023",
        Handler="x",
    )
    response = lam.invoke(FunctionName=f"{fname}-none")
    assert response["FunctionError"] == "Unhandled"
    reports = [line for line in messages(server, f"{fname}-none") if "INIT_REPORT" in line]
    assert [r.split("\t")[1:] for r in reports] == [
        ["Phase: init", "Status: error", "Error Type: Runtime.InvalidEntrypoint"],
        ["Phase: invoke", "Status: error", "Error Type: Runtime.InvalidEntrypoint"],
    ]
