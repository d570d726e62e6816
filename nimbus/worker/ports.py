"""The narrow interface between the data plane and a worker host.

The data plane (assignment/placement) only ever talks to these protocols, so a worker host
can live in this process (``worker.host.LocalWorkerHost``) or, later, on another machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nimbus.model.invocation import (
    EnvironmentSpec,
    InvocationRequest,
    InvocationResult,
    LogEvent,
)
from nimbus.worker.response_stream import ResponseStream


class Environment(Protocol):
    """One execution environment: serves one invocation at a time."""

    @property
    def id(self) -> str: ...

    @property
    def spec(self) -> EnvironmentSpec: ...

    @property
    def init_error(self) -> bool:
        """Whether this environment's Init phase failed (it can only report that error)."""

    @property
    def pid(self) -> int | None:
        """The runtime's pid on its host while it runs, else None. Diagnostics only: a
        remote host's pid means nothing here."""

    @property
    def alive(self) -> bool:
        """False once the environment has died or been destroyed; never reuse it then."""

    async def invoke(
        self, request: InvocationRequest, stream: ResponseStream | None = None
    ) -> InvocationResult:
        """Run one invocation. Never raises for function-level failures: timeouts, crashes,
        OOM and init errors come back as a result with ``function_error`` set and
        ``environment_dead`` True. A response the runtime streams is written to ``stream``
        as it arrives (the result's payload is then empty); None: it is collected into the
        result's payload, within the buffered limit."""

    async def destroy(self) -> None:
        """Kill the environment's processes and release its sandbox. Idempotent."""


class WorkerHost(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None:
        """Destroy every environment and stop helper processes (zygotes)."""

    async def create_environment(self, spec: EnvironmentSpec) -> Environment:
        """Cold start: create a sandbox and run the Init phase (import the handler).

        An Init failure is not raised: the environment is returned, and its first invoke
        reports the error (``Runtime.ImportModuleError`` etc.) as AWS does.
        """

    def runnable_runtimes(self) -> Sequence[str]:
        """Runtime identifiers this host can run (interpreters present)."""


class LogSink(Protocol):
    def emit(self, events: Sequence[LogEvent]) -> None:
        """Accept log events; must not block (buffer and write later)."""
