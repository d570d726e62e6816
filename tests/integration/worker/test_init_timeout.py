"""An on-demand Init that overruns its limit is retried inside the first invocation, as AWS.

AWS limits Init to 10 s; when it overruns, Lambda writes ``INIT_REPORT ... Phase: init\t
Status: timeout``, runs Init again as part of the first invocation within the function's
timeout, and reports ``Task timed out after N.NN seconds`` (Sandbox.Timedout) if that runs out
too. The server here sets the limit to 1 s (NIMBUS_INIT_TIMEOUT) to keep the test short.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import NimbusServer, create_function, make_zip

SLOW_INIT = """
import time
print("init begins", flush=True)
time.sleep({sleep})
print("init done", flush=True)

def handler(event, context):
    print("handler ran", flush=True)
    return {{"remaining_ms": context.get_remaining_time_in_millis()}}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    with NimbusServer(
        data_dir=tmp_path_factory.mktemp("init-timeout") / "data",
        env={"NIMBUS_INIT_TIMEOUT": "1"},
    ) as instance:
        yield instance


def deploy(lam: Any, name: str, *, sleep: float, timeout: int) -> None:
    code = make_zip({"app.py": SLOW_INIT.format(sleep=sleep)})
    create_function(lam, name, code=code, Timeout=timeout)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def messages(server: NimbusServer, name: str) -> list[str]:
    with server.http(timeout=10.0) as http:  # signed: auth is on
        response = http.get(f"/_nimbus/logs/{name}")
    assert response.status_code == 200, response.text
    return [event["message"] for event in response.json()["events"]]


def test_init_longer_than_the_limit_is_retried_in_the_first_invoke(
    server: NimbusServer, fname: str
) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, sleep=2.0, timeout=6)
    first = lam.invoke(FunctionName=fname, LogType="Tail")
    assert "FunctionError" not in first
    remaining = json.loads(first["Payload"].read())["remaining_ms"]
    # The retried Init (2 s) counts against the 6 s timeout, the 1 s Init phase does not.
    assert 2500 < remaining < 4100

    lines = messages(server, fname)
    assert lines[0].startswith("INIT_START Runtime Version: python:3.11.v")
    assert lines.count("init begins") == 2  # Init ran twice: the phase, then the retry
    report = [i for i, line in enumerate(lines) if line.startswith("INIT_REPORT")]
    assert len(report) == 1
    assert re.fullmatch(
        r"INIT_REPORT Init Duration: 1\d{3}\.\d\d ms\tPhase: init\tStatus: timeout",
        lines[report[0]],
    )
    start = next(i for i, line in enumerate(lines) if line.startswith("START RequestId:"))
    # The retried Init runs before START; the handler after it; REPORT has no Init Duration.
    assert report[0] < lines.index("init begins", report[0]) < start < lines.index("handler ran")
    assert "init done" in lines[report[0] :]
    final = next(line for line in lines if line.startswith("REPORT RequestId:"))
    assert "Init Duration" not in final
    duration_ms = float(re.search(r"\tDuration: ([\d.]+) ms", final).group(1))  # type: ignore[union-attr]
    assert duration_ms >= 2000  # the retried Init is part of the invocation

    tail = base64.b64decode(first["LogResult"]).decode()
    assert "Phase: init\tStatus: timeout" in tail and "handler ran" in tail
    assert "INIT_START" not in tail  # CloudWatch only, as on AWS

    second = lam.invoke(FunctionName=fname, LogType="Tail")
    assert "FunctionError" not in second
    second_tail = base64.b64decode(second["LogResult"]).decode()
    assert "init begins" not in second_tail and "INIT_REPORT" not in second_tail


def test_init_longer_than_the_function_timeout_times_the_invoke_out(
    server: NimbusServer, fname: str
) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, sleep=30.0, timeout=2)
    response = lam.invoke(FunctionName=fname, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    request_id = response["ResponseMetadata"]["RequestId"]
    assert json.loads(response["Payload"].read()) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": f"RequestId: {request_id} Error: Task timed out after 2.00 seconds",
    }

    lines = messages(server, fname)
    assert lines[0].startswith("INIT_START Runtime Version: python:3.11.v")
    reports = [line for line in lines if line.startswith("INIT_REPORT")]
    assert len(reports) == 2
    assert re.fullmatch(
        r"INIT_REPORT Init Duration: 1\d{3}\.\d\d ms\tPhase: init\tStatus: timeout", reports[0]
    )
    # AWS reports the Init that the function's timeout cut short as an unknown error.
    assert re.fullmatch(
        r"INIT_REPORT Init Duration: [12]\d{3}\.\d\d ms\tPhase: invoke\tStatus: error"
        r"\tError Type: Runtime\.Unknown",
        reports[1],
    )
    assert "Init timed out" not in "\n".join(lines)
    timed_out = next(line for line in lines if "Task timed out" in line)
    assert timed_out.endswith(f" {request_id} Task timed out after 2.00 seconds")
    order = [
        lines.index(reports[1]),
        next(i for i, line in enumerate(lines) if line.startswith("START RequestId:")),
        lines.index(timed_out),
        next(i for i, line in enumerate(lines) if line.startswith("END RequestId:")),
        next(i for i, line in enumerate(lines) if line.startswith("REPORT RequestId:")),
    ]
    assert order == sorted(order)
    assert "init done" not in lines
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "Phase: invoke\tStatus: error" in tail and "Task timed out after 2.00" in tail
