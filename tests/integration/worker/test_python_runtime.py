"""The Python runtime through a real LocalWorkerHost: results, context, env, errors, logs."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from nimbus.worker.host import LocalWorkerHost
from tests.integration.worker.support import ListSink, request, spec_for, write_code

pytestmark = pytest.mark.asyncio(loop_scope="module")

APP = """
import json, os, sys
count = 0

def echo(event, context):
    global count
    count += 1
    print("echo", count)
    return {"event": event, "count": count}

def ctx(event, context):
    return {
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "arn": context.invoked_function_arn,
        "memory": context.memory_limit_in_mb,
        "group": context.log_group_name,
        "stream": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "custom": context.client_context.custom if context.client_context else None,
        "identity": context.identity.cognito_identity_id,
        "env": dict(os.environ),
        "path": sys.path,
        "cwd": os.getcwd(),
    }

def tmpfile(event, context):
    path = "/tmp/counter"
    n = int(open(path).read()) + 1 if os.path.exists(path) else 1
    open(path, "w").write(str(n))
    return n

def boom(event, context):
    raise ValueError("boom")

def unmarshal(event, context):
    return {1, 2}

def bye(event, context):
    print("leaving")
    sys.exit(1)

def hog(event, context):
    chunks = []
    while True:
        chunks.append(b"x" * (16 << 20))

def sleepy(event, context):
    import time
    print("sleeping")
    time.sleep(30)

def big(event, context):
    return "x" * (7 * 1024 * 1024)

def log(event, context):
    import logging
    logging.getLogger().setLevel(logging.INFO)
    logging.info("info line")
    return None
"""


@pytest.fixture(scope="module")
def code(workdir: Path) -> Path:
    return write_code(workdir, {"app.py": APP, "bad_import.py": "import not_a_module\n"})


async def test_echo_and_warm_reuse(host: LocalWorkerHost, code: Path, sink: ListSink) -> None:
    spec = spec_for(code, handler="app.echo")
    env = await host.create_environment(spec)
    try:
        first = await env.invoke(request(spec, b'{"a": 1}'))
        second = await env.invoke(request(spec, b'{"a": 2}'))
    finally:
        await env.destroy()
    assert json.loads(first.payload) == {"event": {"a": 1}, "count": 1}
    assert json.loads(second.payload) == {"event": {"a": 2}, "count": 2}
    assert first.function_error is None and not first.environment_dead
    assert first.init_duration_ms is not None and second.init_duration_ms is None
    assert "Init Duration" in first.log_tail and "Init Duration" not in second.log_tail
    lines = second.log_tail.splitlines()
    assert lines[0].startswith("START RequestId: ") and lines[0].endswith("Version: $LATEST")
    assert lines[1] == "echo 2"
    assert lines[2].startswith("END RequestId: ")
    assert lines[3].startswith("REPORT RequestId: ") and "\tDuration: " in lines[3]
    assert "\tMemory Size: 128 MB\tMax Memory Used: " in lines[3]
    assert second.max_memory_used_mb > 0 and second.billed_duration_ms >= 1
    assert not env.alive


async def test_context_and_environment(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(
        code,
        handler="app.ctx",
        name="ctxfn",
        memory_mb=256,
        environment={"MY_VAR": "x", "AWS_REGION": "evil", "TZ": "Europe/Paris"},
        endpoint_url="http://127.0.0.1:9999",
    )
    env = await host.create_environment(spec)
    try:
        result = await env.invoke(
            request(
                spec,
                request_id="rid-1",
                trace_id="Root=1-abc",
                client_context='{"custom": {"k": "v"}}',
                cognito_identity='{"cognitoIdentityId": "c1"}',
            )
        )
    finally:
        await env.destroy()
    body = json.loads(result.payload)
    assert body["request_id"] == "rid-1"
    assert body["function_name"] == "ctxfn" and body["function_version"] == "$LATEST"
    assert body["arn"].endswith(":function:ctxfn") and body["memory"] == "256"
    assert body["group"] == "/aws/lambda/ctxfn"
    assert body["stream"] == env.log.stream and "/[$LATEST]" in body["stream"]
    assert 0 < body["remaining"] <= 3000
    assert body["custom"] == {"k": "v"} and body["identity"] == "c1"
    e = body["env"]
    assert e["MY_VAR"] == "x" and e["AWS_REGION"] == "us-east-1" and e["TZ"] == "Europe/Paris"
    assert e["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert e["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11" and e["_HANDLER"] == "app.ctx"
    assert e["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9999"
    assert e["_X_AMZN_TRACE_ID"] == "Root=1-abc"
    assert e["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    for key in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_RUNTIME_DIR",
        "LD_LIBRARY_PATH",
        "NODE_PATH",
    ):
        assert e[key]
    assert e["LAMBDA_TASK_ROOT"] == body["cwd"]
    assert body["path"][0] == e["LAMBDA_TASK_ROOT"]
    if host.isolation == "namespaces":
        assert body["cwd"] == "/var/task"
        assert body["path"][1:3] == ["/opt/python", "/opt/python/lib/python3.11/site-packages"]


async def test_handler_exception(host: LocalWorkerHost, code: Path, sink: ListSink) -> None:
    spec = spec_for(code, handler="app.boom")
    env = await host.create_environment(spec)
    try:
        result = await env.invoke(request(spec, request_id="rid-boom"))
        assert env.alive  # a handled error does not kill the environment
    finally:
        await env.destroy()
    body = json.loads(result.payload)
    assert result.function_error == "Unhandled" and not result.environment_dead
    assert body["errorType"] == "ValueError" and body["errorMessage"] == "boom"
    assert body["requestId"] == "rid-boom"
    assert any('app.py", line' in frame and "in boom" in frame for frame in body["stackTrace"])
    assert all("bootstrap.py" not in frame for frame in body["stackTrace"])
    assert "[ERROR] ValueError: boom" in result.log_tail


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        (
            "missing_mod.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'missing_mod': No module named 'missing_mod'",
        ),
        (
            "bad_import.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'bad_import': No module named 'not_a_module'",
        ),
        ("app.nothing", "Runtime.HandlerNotFound", "Handler 'nothing' missing on module 'app'"),
    ],
)
async def test_init_errors(
    host: LocalWorkerHost, code: Path, handler: str, error_type: str, message: str
) -> None:
    spec = spec_for(code, handler=handler)
    env = await host.create_environment(spec)
    result = await env.invoke(request(spec))
    await env.destroy()
    body = json.loads(result.payload)
    assert (body["errorType"], body["errorMessage"]) == (error_type, message)
    assert result.function_error == "Unhandled" and result.environment_dead
    assert result.init_duration_ms is not None
    assert f"[ERROR] {error_type}: {message}" in result.log_tail


async def test_marshal_error(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.unmarshal")
    env = await host.create_environment(spec)
    result = await env.invoke(request(spec))
    await env.destroy()
    body = json.loads(result.payload)
    assert body["errorType"] == "Runtime.MarshalError"
    assert body["errorMessage"] == (
        "Unable to marshal response: Object of type set is not JSON serializable"
    )


async def test_sys_exit_is_exit_error(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.bye")
    env = await host.create_environment(spec)
    result = await env.invoke(request(spec, request_id="rid-exit"))
    await env.destroy()
    assert json.loads(result.payload) == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "RequestId: rid-exit Error: Runtime exited with error: exit status 1",
    }
    assert result.function_error == "Unhandled" and result.environment_dead
    assert "leaving" in result.log_tail and not env.alive


async def test_timeout_kills_environment(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.sleepy", timeout_s=1)
    env = await host.create_environment(spec)
    result = await env.invoke(request(spec, request_id="rid-slow"))
    await env.destroy()
    assert json.loads(result.payload) == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: rid-slow Error: Task timed out after 1.00 seconds",
    }
    assert result.environment_dead and result.function_error == "Unhandled"
    assert "sleeping" in result.log_tail
    assert "rid-slow Task timed out after 1.00 seconds" in result.log_tail
    assert 950 < result.duration_ms < 2000


async def test_response_too_large(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.big", memory_mb=512)
    env = await host.create_environment(spec)
    try:
        result = await env.invoke(request(spec))
    finally:
        await env.destroy()
    body = json.loads(result.payload)
    assert body["errorType"] == "Function.ResponseSizeTooLarge"
    assert result.function_error == "Unhandled"


async def test_tmp_persists_and_logging(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.tmpfile")
    env = await host.create_environment(spec)
    try:
        results = [json.loads((await env.invoke(request(spec))).payload) for _ in range(3)]
    finally:
        await env.destroy()
    first = 1 if host.isolation == "namespaces" else results[0]  # process: the host's /tmp
    assert results == [first, first + 1, first + 2]
    spec = spec_for(code, handler="app.log")
    env = await host.create_environment(spec)
    try:
        result = await env.invoke(request(spec, request_id="rid-log"))
    finally:
        await env.destroy()
    assert result.payload == b"null"
    line = next(li for li in result.log_tail.splitlines() if li.startswith("[INFO]"))
    assert line.endswith("\trid-log\tinfo line")


async def test_two_environments_concurrently(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.echo")
    envs = await asyncio.gather(host.create_environment(spec), host.create_environment(spec))
    try:
        results = await asyncio.gather(
            *(
                env.invoke(request(spec, json.dumps({"who": i}).encode()))
                for i, env in enumerate(envs)
            )
        )
    finally:
        await asyncio.gather(*(env.destroy() for env in envs))
    assert [json.loads(r.payload)["event"] for r in results] == [{"who": 0}, {"who": 1}]
    assert envs[0].log.stream != envs[1].log.stream


async def test_logs_reach_sink(host: LocalWorkerHost, code: Path, sink: ListSink) -> None:
    spec = spec_for(code, handler="app.echo", name="logged")
    env = await host.create_environment(spec)
    await env.invoke(request(spec, request_id="rid-sink", tail=False))
    await env.destroy()
    init_start, *messages = sink.messages(env.log.stream)
    assert init_start.startswith("INIT_START Runtime Version: python:3.11.v")
    assert messages[0] == "START RequestId: rid-sink Version: $LATEST"
    assert messages[1] == "echo 1" and messages[2] == "END RequestId: rid-sink"
    assert all(e.group == "/aws/lambda/logged" for e in sink.events if e.stream == env.log.stream)
