"""The ``process`` backend: each runtime is a plain child of the zygote, as the host's user.

For development without root: rlimits only, no isolation between functions or from the host
(see ``sandbox.enter``). Nothing is reserved, so a sandbox costs nothing to release.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.backend import Launch
from nimbus.worker.sandbox.config import PROCESS
from nimbus.worker.sandbox.forker import ForkedRuntime, Forker, LostRuntime
from nimbus.worker.sandbox.launch import sandbox_config


class ProcessSandbox:
    def __init__(self, *, forker: Forker, env_id: str, root_dir: Path) -> None:
        self._forker = forker
        self._env_id = env_id
        self._root_dir = root_dir
        self._runtime: ForkedRuntime | LostRuntime | None = None

    @property
    def peer_uid(self) -> int | None:
        return None  # same uid as the host: the Runtime API cannot tell sandboxes apart

    def runtime_api_socket(self) -> socket.socket | None:
        return None  # the host's network: the Runtime API listens on its loopback

    async def spawn(self, spec: EnvironmentSpec, launch: Launch) -> ForkedRuntime | LostRuntime:
        plan = self._forker.plan(spec, launch, namespaces=False)
        config = sandbox_config(
            spec,
            plan,
            env_id=self._env_id,
            isolation=PROCESS,
            environ=self._forker.environ(spec, launch, plan),
            uid=None,
            root_dir=self._root_dir,
        )
        self._runtime = await self._forker.fork(spec, config, launch.log_fd)
        return self._runtime

    async def release(self) -> None:
        if self._runtime is not None:
            self._runtime.kill()


class ProcessBackend:
    def __init__(self, *, forker: Forker, root_dir: Path) -> None:
        self._forker = forker
        self._root_dir = root_dir

    @property
    def isolation(self) -> str:
        return PROCESS

    async def start(self) -> None:
        self._root_dir.mkdir(parents=True, exist_ok=True)
        await self._forker.start()

    async def close(self) -> None:
        await self._forker.close()

    def runnable_runtimes(self) -> Sequence[str]:
        return self._forker.runnable_runtimes()

    async def reserve(self, env_id: str, spec: EnvironmentSpec) -> ProcessSandbox:
        return ProcessSandbox(forker=self._forker, env_id=env_id, root_dir=self._root_dir)
