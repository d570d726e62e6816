"""An in-memory worker host for unit tests of the data plane (no processes)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from nimbus.model.invocation import EnvironmentSpec, InvocationRequest, InvocationResult
from nimbus.worker.response_stream import ResponseStream

_ids = itertools.count(1)


class FakeEnvironment:
    def __init__(self, spec: EnvironmentSpec) -> None:
        self._id = f"env-{next(_ids)}"
        self._spec = spec
        self.alive_flag = True
        self.invocations: list[InvocationRequest] = []
        self.destroyed = False
        self.die_on_invoke = False

    @property
    def id(self) -> str:
        return self._id

    @property
    def spec(self) -> EnvironmentSpec:
        return self._spec

    @property
    def alive(self) -> bool:
        return self.alive_flag

    @property
    def pid(self) -> int | None:
        return None

    @property
    def init_error(self) -> bool:
        return False

    async def invoke(
        self, request: InvocationRequest, stream: ResponseStream | None = None
    ) -> InvocationResult:
        self.invocations.append(request)
        cold = len(self.invocations) == 1
        if self.die_on_invoke:
            self.alive_flag = False
            return InvocationResult(
                payload=b'{"errorType": "Runtime.ExitError"}',
                function_error="Unhandled",
                environment_dead=True,
            )
        return InvocationResult(
            payload=request.payload, init_duration_ms=1.0 if cold else None, duration_ms=0.5
        )

    async def destroy(self) -> None:
        self.destroyed = True
        self.alive_flag = False


class FakeWorkerHost:
    def __init__(self, runtimes: Sequence[str] = ("python3.11",)) -> None:
        self.created: list[FakeEnvironment] = []
        self._runtimes = list(runtimes)

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        for env in self.created:
            await env.destroy()

    async def create_environment(self, spec: EnvironmentSpec) -> FakeEnvironment:
        env = FakeEnvironment(spec)
        self.created.append(env)
        return env

    def runnable_runtimes(self) -> Sequence[str]:
        return self._runtimes
