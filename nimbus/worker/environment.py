"""One execution environment on this host: its sandbox, Runtime API endpoint, log stream and
lifecycle. Invocations run one at a time, as on Lambda."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from nimbus.clock import Clock
from nimbus.model.invocation import (
    EnvironmentSpec,
    InvocationRequest,
    InvocationResult,
    LogEvent,
)
from nimbus.worker import log_format
from nimbus.worker.backend import Sandbox, SandboxHandle
from nimbus.worker.environment_state import EnvState, next_state
from nimbus.worker.log_pipe import LogPipe
from nimbus.worker.outcome import Exited, InitFailed, Outcome, RuntimeReply, TimedOut, verdict
from nimbus.worker.ports import LogSink
from nimbus.worker.runtime_api import RuntimeApi

log = logging.getLogger(__name__)


class LocalEnvironment:
    def __init__(
        self,
        *,
        env_id: str,
        spec: EnvironmentSpec,
        api: RuntimeApi,
        log_stream: str,
        log_sink: LogSink,
        clock: Clock,
        billed_init: bool,
        sandbox: Sandbox,
        forget: Callable[[LocalEnvironment], None],
    ) -> None:
        self._id = env_id
        self._spec = spec
        self.api = api
        self.log_stream = log_stream
        self._sink = log_sink
        self._clock = clock
        self._billed_init = billed_init  # custom runtimes are billed for Init, as on AWS
        self._sandbox = sandbox
        self._forget = forget  # the host drops the environment once its sandbox is released
        self.state = EnvState.CREATING
        self._handle: SandboxHandle | None = None
        self.exit_status: int | None = None
        self.init_duration_ms: float | None = None
        self.init_failure: InitFailed | None = None
        self._pipe: LogPipe | None = None
        self._capture: list[str] | None = None
        self._init_lines: list[str] = []  # shown in the tail of an invoke that reports Init
        self._outcome: asyncio.Future[Outcome] | None = None
        self._destroying: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        return self._id

    @property
    def spec(self) -> EnvironmentSpec:
        return self._spec

    @property
    def sandbox(self) -> Sandbox:
        return self._sandbox

    @property
    def alive(self) -> bool:
        return self.state not in (EnvState.DEAD,) and self.exit_status is None

    def move(self, target: EnvState) -> None:
        self.state = next_state(self.state, target)

    # -- logs -----------------------------------------------------------------------------

    def attach_log_pipe(self, fd: int) -> None:
        self._pipe = LogPipe(fd, self._lines)

    def _lines(self, lines: list[str]) -> None:
        now_ms = int(self._clock.now() * 1000)
        group = self._spec.log_group
        self._sink.emit(
            [
                LogEvent(group=group, stream=self.log_stream, timestamp_ms=now_ms, message=m)
                for m in lines
            ]
        )
        if self._capture is not None:
            self._capture.extend(lines)
        elif self.state in (EnvState.CREATING, EnvState.INITIALIZING):
            self._init_lines.extend(lines)
            del self._init_lines[:-100]

    def platform_line(self, message: str) -> None:
        self._lines([message])

    def drain_logs(self) -> None:
        if self._pipe is not None:
            self._pipe.drain()

    # -- process --------------------------------------------------------------------------

    def process_started(self, handle: SandboxHandle) -> None:
        self._handle = handle
        handle.on_exit(self._process_exited)

    def _process_exited(self, status: int) -> None:
        """The runtime is gone: end whatever was waiting on it."""
        self.exit_status = status
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(Exited(status=status))
        if self.state in (EnvState.READY, EnvState.INIT_FAILED) and self._destroying is None:
            # Died while idle: release the sandbox now rather than when someone notices.
            self._destroying = asyncio.get_running_loop().create_task(self._teardown())

    def init_succeeded(self, duration_ms: float) -> None:
        self.init_duration_ms = duration_ms
        if self._handle is not None:
            self._handle.initialized()
        self.move(EnvState.READY)

    def init_failed(self, failure: InitFailed, duration_ms: float) -> None:
        """Init ended in ``failure``: keep it for the first invoke, which reports it."""
        self.init_duration_ms = duration_ms
        self.init_failure = failure
        self.drain_logs()
        self.move(EnvState.INIT_FAILED)
        self._kill_now()  # never reused: AWS re-runs Init in a fresh sandbox

    def oom_killed(self) -> bool:
        return self._handle is not None and self._handle.oom_killed()

    def _peak(self) -> int:
        return self._handle.peak_memory_mb() if self._handle is not None else 0

    # -- invoke ---------------------------------------------------------------------------

    async def invoke(self, request: InvocationRequest) -> InvocationResult:
        if self.state is EnvState.DEAD or (
            self.exit_status is not None and self.state is not EnvState.INIT_FAILED
        ):
            raise RuntimeError(f"environment {self._id} is not alive")
        loop = asyncio.get_running_loop()
        self.move(EnvState.BUSY)
        rid = request.request_id
        self._capture = [] if request.tail_logs else None
        self.drain_logs()  # anything written while idle belongs before START
        self.platform_line(log_format.start_line(rid, self._spec.function_version))
        # Reported once, on the cold-start invocation; a provisioned environment was
        # initialised ahead of time, so (as on AWS) its REPORT lines carry no Init Duration.
        init_ms = (
            None
            if self._spec.initialization_type == "provisioned-concurrency"
            else (self.init_duration_ms)
        )
        self.init_duration_ms = None
        started = self._clock.monotonic()
        if self.init_failure is not None:
            # AWS re-runs a failed Init inside the invoke, so its output is in this tail.
            if self._capture is not None:
                self._capture.extend(self._init_lines)
            outcome: Outcome = self.init_failure
        else:
            future: asyncio.Future[Outcome] = loop.create_future()
            self._outcome = future
            reply: asyncio.Future[RuntimeReply] = loop.create_future()

            def settle(outcome: Outcome) -> None:
                if not future.done():
                    future.set_result(outcome)

            reply.add_done_callback(lambda r: settle(r.result()))
            delay = request.deadline_ms / 1000 - self._clock.now()
            timeout = TimedOut(after_s=float(self._spec.timeout_s))
            timer = loop.call_later(max(0.0, delay), settle, timeout)
            self.api.dispatch(request, reply)
            try:
                outcome = await future
            finally:
                timer.cancel()
                self._outcome = None
        duration_ms = (self._clock.monotonic() - started) * 1000
        peak = self._peak()
        self.drain_logs()
        if isinstance(outcome, Exited):
            outcome = Exited(status=outcome.status, oom=self.oom_killed())
        judged = verdict(outcome, request_id=rid, now_s=self._clock.now())
        for line in judged.log_lines:
            self.platform_line(line)
        dead = judged.environment_dead
        if dead:
            self.api.abandon()
            self._kill_now()
            if isinstance(outcome, Exited) and outcome.oom:
                peak = self._spec.memory_mb  # AWS reports the limit for an OOM kill
        self.platform_line(log_format.end_line(rid))
        billed = log_format.billed_ms(duration_ms, init_ms if self._billed_init else None)
        self.platform_line(
            log_format.report_line(
                request_id=rid,
                duration_ms=duration_ms,
                billed_duration_ms=billed,
                memory_mb=self._spec.memory_mb,
                max_memory_used_mb=peak,
                init_duration_ms=init_ms,
            )
        )
        tail = log_format.tail(self._capture) if self._capture is not None else ""
        self._capture = None
        dead = dead or self.exit_status is not None
        if dead:
            self.move(EnvState.DEAD)
            self._destroying = loop.create_task(self._teardown())
        else:
            self.move(EnvState.READY)
        return InvocationResult(
            payload=judged.payload,
            function_error=judged.function_error,
            log_tail=tail,
            duration_ms=duration_ms,
            billed_duration_ms=billed,
            init_duration_ms=init_ms,
            max_memory_used_mb=peak,
            environment_dead=dead,
        )

    def _kill_now(self) -> None:
        if self._handle is not None:
            self._handle.kill()

    # -- teardown -------------------------------------------------------------------------

    async def _teardown(self, wait_s: float = 5.0) -> None:
        """Kill the runtime (its whole sandbox), wait until it is gone, release the sandbox."""
        self.api.close()
        if self._handle is not None:
            self._handle.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._handle.wait(), wait_s)
        self.drain_logs()
        if self._pipe is not None:
            self._pipe.close()
        await self._sandbox.release()
        self._forget(self)

    async def destroy(self) -> None:
        if self.state is not EnvState.DEAD:
            self.move(EnvState.DEAD)
        if self._destroying is None:
            self._destroying = asyncio.get_running_loop().create_task(self._teardown())
        await asyncio.shield(self._destroying)
