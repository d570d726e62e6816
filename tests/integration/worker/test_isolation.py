"""What the ``namespaces`` isolation level promises, checked from inside real sandboxes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from nimbus.clock import SystemClock
from nimbus.worker.host import LocalWorkerHost
from nimbus.worker.sandbox.namespaces_backend import NamespacesSandbox
from tests.integration.worker.support import IS_ROOT, ListSink, request, spec_for, write_code

pytestmark = [
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.skipif(not IS_ROOT, reason="namespaces and cgroups need root"),
]

APP = """
import http.client, json, os, socket, time

def inspect(event, context):
    try:
        open("/var/task/new.txt", "w")
        task_writable = True
    except OSError:
        task_writable = False
    return {
        "uid": os.getuid(), "gid": os.getgid(), "pid": os.getpid(),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "task_writable": task_writable,
        "host_data_visible": os.path.exists(event.get("secret", "/nonexistent")),
        "tmp_writable": bool(open("/tmp/x", "w").write("x")),
        "root_listing": sorted(os.listdir("/")),
        "hostname": socket.gethostname(),
    }

def steal(event, context):
    # Try to take another environment's invocation through its Runtime API.
    host, port = event["api"].split(":")
    try:
        conn = http.client.HTTPConnection(host, int(port), timeout=2)
        conn.request("GET", "/2018-06-01/runtime/invocation/next")
        status = conn.getresponse().status
        return {"status": status}
    except Exception as exc:
        return {"refused": type(exc).__name__}

def forkbomb(event, context):
    import os
    children = 0
    while True:
        try:
            if os.fork() == 0:
                time.sleep(60)
                os._exit(0)
            children += 1
        except OSError:
            print("fork failed after", children)
            time.sleep(60)

def hog(event, context):
    chunks = []
    while True:
        chunks.append(b"x" * (16 << 20))

def echo(event, context):
    return event
"""


@pytest.fixture(scope="module")
def code(workdir: Path) -> Path:
    return write_code(workdir, {"app.py": APP})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host(workdir: Path, sink: ListSink) -> AsyncIterator[LocalWorkerHost]:
    """The namespaces backend only: what this module checks is what it promises."""
    instance = LocalWorkerHost(
        data_dir=workdir / "data", log_sink=sink, clock=SystemClock(), isolation="namespaces"
    )
    await instance.start()
    yield instance
    await instance.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def small_host(workdir: Path, sink: ListSink) -> AsyncIterator[LocalWorkerHost]:
    """A host with a tiny pids limit, for the fork bomb."""
    instance = LocalWorkerHost(
        data_dir=workdir / "small",
        log_sink=sink,
        clock=SystemClock(),
        isolation="namespaces",
        pids_limit=24,
        uid_base=160_000,
    )
    await instance.start()
    yield instance
    await instance.close()


async def test_sandbox_view(host: LocalWorkerHost, code: Path, workdir: Path) -> None:
    assert host.isolation == "namespaces"
    spec = spec_for(code, handler="app.inspect")
    env = await host.create_environment(spec)
    try:
        secret = str(workdir / "data")
        result = await env.invoke(request(spec, json.dumps({"secret": secret}).encode()))
    finally:
        await env.destroy()
    body = json.loads(result.payload)
    assert body["uid"] >= 100_000 and body["gid"] >= 100_000
    assert body["pid"] == 1 and body["pids"] == [1]  # only its own processes
    assert body["task_writable"] is False and body["tmp_writable"] is True
    assert body["host_data_visible"] is False
    assert "work" not in body["root_listing"] and "var" in body["root_listing"]


async def test_cgroup_removed_after_destroy(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.echo")
    env = await host.create_environment(spec)
    sandbox = env.sandbox
    assert isinstance(sandbox, NamespacesSandbox)
    group = sandbox.cgroup
    assert group is not None and all(d.is_dir() for d in group.dirs)
    await env.invoke(request(spec))
    await env.destroy()
    assert not any(d.exists() for d in group.dirs)


async def test_cannot_reach_other_runtime_api(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.steal")
    victim = await host.create_environment(spec_for(code, handler="app.echo"))
    thief = await host.create_environment(spec)
    try:
        result = await thief.invoke(request(spec, json.dumps({"api": victim.api.address}).encode()))
        body = json.loads(result.payload)
        assert "refused" in body, body
        # the victim still works
        ok = await victim.invoke(request(victim.spec, b'{"fine": true}'))
        assert json.loads(ok.payload) == {"fine": True}
    finally:
        await thief.destroy()
        await victim.destroy()


async def test_out_of_memory(host: LocalWorkerHost, code: Path) -> None:
    spec = spec_for(code, handler="app.hog", memory_mb=128, timeout_s=20)
    env = await host.create_environment(spec)
    result = await env.invoke(request(spec, request_id="rid-oom"))
    await env.destroy()
    assert json.loads(result.payload) == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": "RequestId: rid-oom Error: Runtime exited with error: signal: killed",
    }
    assert result.environment_dead and result.max_memory_used_mb == 128


async def test_fork_bomb_is_contained(small_host: LocalWorkerHost, code: Path) -> None:
    bomb_spec = spec_for(code, handler="app.forkbomb", timeout_s=2)
    bystander = await small_host.create_environment(spec_for(code, handler="app.echo"))
    bomb = await small_host.create_environment(bomb_spec)
    started = time.monotonic()
    result = await bomb.invoke(request(bomb_spec))
    await bomb.destroy()
    assert result.environment_dead
    assert json.loads(result.payload)["errorType"] == "Sandbox.Timedout"
    assert "fork failed after" in result.log_tail
    assert time.monotonic() - started < 10
    ok = await bystander.invoke(request(bystander.spec, b'{"still": "here"}'))
    await bystander.destroy()
    assert json.loads(ok.payload) == {"still": "here"}
