"""A sandbox released while its fork is awaited does not start a runtime (issue 11 review of
f6ce8b3, item 3): release() found nothing to kill, and its uid, address and /tmp are back
in the pools by the time the zygote answers.

The forker and the backend are stand-ins with just what ``NamespacesSandbox.spawn`` and
``release`` touch; the launch plan is the real one."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.backend import Launch
from nimbus.worker.sandbox.cgroups import EnvCgroup
from nimbus.worker.sandbox.forker import LostRuntime
from nimbus.worker.sandbox.launch import LaunchPlan, plan_launch
from nimbus.worker.sandbox.namespaces_backend import NamespacesBackend, NamespacesSandbox


class Runtime:
    pid = 4242

    def __init__(self) -> None:
        self.killed = False

    def kill(self) -> None:
        self.killed = True


class Forker:
    """Forks once ``answer`` is set, as a zygote answers after the request went out."""

    def __init__(self) -> None:
        self.asked = asyncio.Event()
        self.answer = asyncio.Event()
        self.runtime = Runtime()

    def plan(self, spec: EnvironmentSpec, launch: Launch, *, namespaces: bool) -> LaunchPlan:
        return plan_launch(
            spec,
            namespaces=namespaces,
            opt=None,
            python="/usr/bin/python3.11",
            python_prefix="/usr",
            python_version="3.11",
            node=None,
            boto_path=None,
        )

    def environ(self, spec: EnvironmentSpec, launch: Launch, plan: LaunchPlan) -> dict[str, str]:
        return {}

    async def fork(self, *args: Any, **kwargs: Any) -> Runtime:
        self.asked.set()
        await self.answer.wait()
        return self.runtime


class Backend:
    def __init__(self, root_dir: Path) -> None:
        self.forker = Forker()
        self.network = None
        self.cgroups = None
        self.root_dir = root_dir
        self.freed: list[int] = []

    async def free(self, uid: int, group: EnvCgroup | None) -> None:
        self.freed.append(uid)


async def test_a_release_during_the_fork_kills_the_runtime_it_gives(tmp_path: Path) -> None:
    backend = Backend(tmp_path)
    sandbox = NamespacesSandbox(
        backend=cast(NamespacesBackend, backend),
        env_id="env-1",
        memory_mb=128,
        uid=110001,
        cgroup=None,
        stem=None,
    )
    spec = EnvironmentSpec(
        function_name="f",
        function_version="1",
        function_arn="arn:f",
        runtime="python3.11",
        handler="app.h",
        code_dir=tmp_path,
    )
    launch = Launch(runtime_api="127.0.0.1:9001", log_stream="s", log_fd=2, opt=None)
    spawn = asyncio.ensure_future(sandbox.spawn(spec, launch))
    await asyncio.wait_for(backend.forker.asked.wait(), 5)
    await sandbox.release()
    assert backend.freed == [110001]
    backend.forker.answer.set()
    runtime = await asyncio.wait_for(spawn, 5)
    assert isinstance(runtime, LostRuntime)
    assert backend.forker.runtime.killed  # not left running in a released sandbox
