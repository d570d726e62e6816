"""End to end: synchronous invoke of Python functions through boto3."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import call, deploy

ECHO = "def handler(event, context):\n    return event\n"


def test_echo_roundtrip_and_executed_version(lam: Any, fname: str) -> None:
    deploy(lam, fname, ECHO)
    response, payload = call(lam, fname, {"hello": ["world", 1, None]})
    assert response["StatusCode"] == 200
    assert payload == {"hello": ["world", 1, None]}
    assert response["ExecutedVersion"] == "$LATEST"
    assert "FunctionError" not in response


def test_context_and_environment(lam: Any, fname: str) -> None:
    source = """
import os
def handler(event, context):
    keys = ["AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
            "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
            "AWS_EXECUTION_ENV", "_HANDLER", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
            "AWS_LAMBDA_RUNTIME_API", "TZ", "AWS_ENDPOINT_URL", "GREETING"]
    return {
        "env": {k: os.environ.get(k) for k in keys},
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "group": context.log_group_name,
        "stream": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "client_context": getattr(context.client_context, "custom", None),
    }
"""
    deploy(
        lam, fname, source, MemorySize=256, Timeout=7, Environment={"Variables": {"GREETING": "hi"}}
    )
    ctx = base64.b64encode(b'{"custom": {"k": "v"}}').decode()
    response, out = call(lam, fname, {}, ClientContext=ctx)
    env = out["env"]
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == fname
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == f"/aws/lambda/{fname}"
    assert re.match(
        r"^\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}$", env["AWS_LAMBDA_LOG_STREAM_NAME"]
    )
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["_HANDLER"] == "app.handler"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"
    assert env["LAMBDA_RUNTIME_DIR"]
    assert re.match(r"^127\.0\.0\.1:\d+$", env["AWS_LAMBDA_RUNTIME_API"])
    # The server's loopback, or (isolated function network, the default as root) the
    # gateway of the function's own network namespace.
    assert re.match(r"^http://(127\.0\.0\.1|100\.\d+\.0\.1):\d+$", env["AWS_ENDPOINT_URL"])
    assert env["GREETING"] == "hi"
    assert out["request_id"] == response["ResponseMetadata"]["RequestId"]
    assert out["function_name"] == fname
    assert out["function_version"] == "$LATEST"
    assert out["arn"] == f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
    assert out["memory"] in (256, "256")
    assert out["group"] == f"/aws/lambda/{fname}"
    assert out["stream"] == env["AWS_LAMBDA_LOG_STREAM_NAME"]
    assert 0 < out["remaining"] <= 7000
    assert out["client_context"] == {"k": "v"}


def test_handler_exception_is_unhandled_function_error(lam: Any, fname: str) -> None:
    deploy(lam, fname, "def handler(e, c):\n    raise ValueError('boom')\n")
    response, out = call(lam, fname, {})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert out["errorType"] == "ValueError"
    assert out["errorMessage"] == "boom"
    assert isinstance(out["stackTrace"], list) and out["stackTrace"]
    assert out["requestId"] == response["ResponseMetadata"]["RequestId"]


@pytest.mark.parametrize(
    ("files", "handler", "error_type", "message"),
    [
        (
            {"app.py": "x = 1\n"},
            "missing.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing'",
        ),
        ({"app.py": "x = 1\n"}, "app.handler", "Runtime.HandlerNotFound", "Handler 'handler'"),
        (
            {"app.py": "def handler(e, c):\n    return object()\n"},
            "app.handler",
            "Runtime.MarshalError",
            "Unable to marshal response",
        ),
        (
            {"app.py": "import sys\ndef handler(e, c):\n    sys.exit(3)\n"},
            "app.handler",
            "Runtime.ExitError",
            "Runtime exited with error",
        ),
    ],
)
def test_runtime_errors(
    lam: Any, fname: str, files: dict[str, str], handler: str, error_type: str, message: str
) -> None:
    deploy(lam, fname, files, handler=handler)
    response, out = call(lam, fname, {})
    assert response["FunctionError"] == "Unhandled"
    assert out["errorType"] == error_type
    assert message in out["errorMessage"]


def test_timeout_kills_environment(lam: Any, fname: str) -> None:
    source = (
        "import time\nN = 0\ndef handler(e, c):\n    global N\n    N += 1\n"
        "    if e.get('sleep'):\n        time.sleep(30)\n    return N\n"
    )
    deploy(lam, fname, source, Timeout=1)
    response, out = call(lam, fname, {"sleep": True})
    assert response["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in out["errorMessage"]
    # Never reused after a timeout: a fresh environment starts counting again.
    assert call(lam, fname, {})[1] == 1


def test_the_timeout_runs_from_after_init_as_on_aws(lam: Any, fname: str) -> None:
    """A cold start's Init has its own 10 s limit and is not charged to the invocation: a
    1 s function whose imports take 1.5 s answers (before, the deadline was set before the
    cold start, so a slow Init or a burst of cold starts timed invocations out)."""
    slow_init = "import time\ntime.sleep(1.5)\ndef handler(event, context):\n    return 'ok'\n"
    deploy(lam, fname, slow_init, Timeout=1)
    response, out = call(lam, fname, {})
    assert "FunctionError" not in response, out
    assert out == "ok"


def test_out_of_memory(lam: Any, fname: str) -> None:
    source = (
        "def handler(e, c):\n    blocks = []\n    while True:\n"
        "        blocks.append(bytearray(16 * 1024 * 1024))\n"
    )
    deploy(lam, fname, source, MemorySize=128, Timeout=20)
    response, out = call(lam, fname, {})
    assert response["FunctionError"] == "Unhandled"
    assert out["errorType"] == "Runtime.OutOfMemory"


def test_warm_reuse_keeps_globals_and_tmp(lam: Any, fname: str) -> None:
    source = """
import os
COUNT = 0
def handler(event, context):
    global COUNT
    COUNT += 1
    path = '/tmp/marker'
    existed = os.path.exists(path)
    open(path, 'w').write('x')
    return {"count": COUNT, "tmp_existed": existed}
"""
    deploy(lam, fname, source)
    assert call(lam, fname, {})[1] == {"count": 1, "tmp_existed": False}
    assert call(lam, fname, {})[1] == {"count": 2, "tmp_existed": True}


def test_update_code_retires_old_environments(lam: Any, fname: str) -> None:
    deploy(lam, fname, "def handler(e, c):\n    return 'v1'\n")
    assert call(lam, fname, {})[1] == "v1"
    from tests.support import make_zip

    lam.update_function_code(
        FunctionName=fname, ZipFile=make_zip({"app.py": "def handler(e, c):\n    return 'v2'\n"})
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})
    assert call(lam, fname, {})[1] == "v2"
    lam.update_function_configuration(FunctionName=fname, Environment={"Variables": {"XX": "1"}})
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname, WaiterConfig={"Delay": 1})
    assert call(lam, fname, {})[1] == "v2"


def test_log_tail_has_start_end_report(lam: Any, fname: str) -> None:
    deploy(lam, fname, "def handler(e, c):\n    print('hello from handler')\n    return 1\n")
    first, _ = call(lam, fname, {}, LogType="Tail")
    log = base64.b64decode(first["LogResult"]).decode()
    request_id = first["ResponseMetadata"]["RequestId"]
    assert f"START RequestId: {request_id} Version: $LATEST" in log
    assert "hello from handler" in log
    assert f"END RequestId: {request_id}" in log
    report = next(line for line in log.splitlines() if line.startswith("REPORT"))
    for field in (
        "Duration:",
        "Billed Duration:",
        "Memory Size: 128 MB",
        "Max Memory Used:",
        "Init Duration:",
    ):
        assert field in report
    second, _ = call(lam, fname, {}, LogType="Tail")
    report2 = next(
        line
        for line in base64.b64decode(second["LogResult"]).decode().splitlines()
        if line.startswith("REPORT")
    )
    assert "Init Duration" not in report2


def test_bad_payloads(lam: Any, server: Any, fname: str) -> None:
    deploy(lam, fname, ECHO)
    url = f"/2015-03-31/functions/{fname}/invocations"
    with server.http() as http:  # signed (auth is on): the payloads are what is wrong
        bad = http.post(url, content=b"{nope")
        assert bad.status_code == 400
        assert bad.headers["x-amzn-errortype"] == "InvalidRequestContentException"
        big = http.post(url, content=b'"' + b"a" * 6_300_000 + b'"')
        assert big.status_code == 413
        assert big.headers["x-amzn-errortype"] == "RequestTooLargeException"
        dry = http.post(url, content=b"{}", headers={"X-Amz-Invocation-Type": "DryRun"})
        assert dry.status_code == 204
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=f"{fname}-missing", Payload=b"{}")
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_response_over_6mb_is_an_error(lam: Any, fname: str) -> None:
    deploy(lam, fname, "def handler(e, c):\n    return 'x' * 7_000_000\n", MemorySize=512)
    response, out = call(lam, fname, {})
    assert response["FunctionError"] == "Unhandled"
    assert "ResponseSizeTooLarge" in out["errorType"]


def test_parallel_callers_each_get_their_own_payload(lam: Any, fname: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    deploy(lam, fname, "import time\ndef handler(e, c):\n    time.sleep(0.01)\n    return e\n")

    def worker(i: int) -> list[bool]:
        from tests.support import NimbusServer  # noqa: F401 - imported for typing clarity

        results = []
        for j in range(10):
            payload = {"caller": i, "call": j}
            results.append(call(lam, fname, payload)[1] == payload)
        return results

    with ThreadPoolExecutor(16) as pool:
        outcomes = [ok for chunk in pool.map(worker, range(16)) for ok in chunk]
    assert len(outcomes) == 160 and all(outcomes)
