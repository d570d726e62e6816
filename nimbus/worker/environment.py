"""One execution environment on this host: its sandboxed runtime process, Runtime API
endpoint, log stream and lifecycle. Invocations run one at a time, as on Lambda."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from nimbus.clock import Clock
from nimbus.model.invocation import (
    EnvironmentSpec,
    InvocationRequest,
    InvocationResult,
    LogEvent,
)
from nimbus.worker import log_format
from nimbus.worker.environment_state import EnvState, next_state
from nimbus.worker.log_pipe import LogPipe
from nimbus.worker.ports import LogSink
from nimbus.worker.runtime_api import RuntimeApi, RuntimeReply

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class InitFailure:
    """Why Init failed; the first invoke reports it."""

    reply: RuntimeReply | None = None  # the runtime's /init/error
    exit_status: int | None = None  # the runtime died without reporting
    oom: bool = False
    timed_out: bool = False
    init_timeout_s: float = 10.0


@dataclass(frozen=True, kw_only=True)
class Outcome:
    kind: str  # RuntimeReply kinds, or "timeout" | "exit"
    reply: RuntimeReply | None = None
    exit_status: int = 0


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
        read_peak_mb: Callable[[int], int],
        oom_killed: Callable[[], bool],
        kill: Callable[[int], None],
        release: Callable[[LocalEnvironment], Coroutine[Any, Any, None]],
    ) -> None:
        self._id = env_id
        self._spec = spec
        self.api = api
        self.log_stream = log_stream
        self._sink = log_sink
        self._clock = clock
        self._billed_init = billed_init  # custom runtimes are billed for Init, as on AWS
        self._read_peak_mb = read_peak_mb
        self._oom_killed = oom_killed
        self._kill = kill
        self._release = release
        self.state = EnvState.CREATING
        self.pid: int | None = None
        self.exit_status: int | None = None
        self.exited = asyncio.get_running_loop().create_future()
        self.init_duration_ms: float | None = None
        self.init_failure: InitFailure | None = None
        self._pipe: LogPipe | None = None
        self._capture: list[str] | None = None
        self._init_lines: list[str] = []  # shown in the tail of an invoke that reports Init
        self._outcome: asyncio.Future[Outcome] | None = None
        self._destroying: asyncio.Task[None] | None = None
        self._peak_mb = 0

    @property
    def id(self) -> str:
        return self._id

    @property
    def spec(self) -> EnvironmentSpec:
        return self._spec

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

    def process_started(self, pid: int) -> None:
        self.pid = pid

    def process_exited(self, status: int) -> None:
        """The zygote reaped our runtime: end whatever was waiting on it."""
        self.exit_status = status
        if not self.exited.done():
            self.exited.set_result(status)
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(Outcome(kind="exit", exit_status=status))
        if self.state in (EnvState.READY, EnvState.INIT_FAILED) and self._destroying is None:
            # Died while idle: release the sandbox now rather than when someone notices.
            self._destroying = asyncio.get_running_loop().create_task(self._release(self))

    def _peak(self) -> int:
        if self.pid is not None and self.exit_status is None:
            self._peak_mb = max(self._peak_mb, self._read_peak_mb(self.pid))
        return self._peak_mb

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
            outcome = Outcome(kind="init_failed")
        else:
            future: asyncio.Future[Outcome] = loop.create_future()
            self._outcome = future
            reply: asyncio.Future[RuntimeReply] = loop.create_future()

            def settle(outcome: Outcome) -> None:
                if not future.done():
                    future.set_result(outcome)

            reply.add_done_callback(
                lambda r: settle(Outcome(kind=r.result().kind, reply=r.result()))
            )
            delay = request.deadline_ms / 1000 - self._clock.now()
            timer = loop.call_later(max(0.0, delay), settle, Outcome(kind="timeout"))
            self.api.dispatch(request, reply)
            try:
                outcome = await future
            finally:
                timer.cancel()
                self._outcome = None
        duration_ms = (self._clock.monotonic() - started) * 1000
        peak = self._peak()
        self.drain_logs()
        payload, error, dead = self._result_of(outcome, request)
        if dead:
            self.api.abandon()
            self._kill_now()
            if outcome.kind == "exit" and error and self._oom_killed():
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
            self._destroying = loop.create_task(self._release(self))
        else:
            self.move(EnvState.READY)
        return InvocationResult(
            payload=payload,
            function_error=error,
            log_tail=tail,
            duration_ms=duration_ms,
            billed_duration_ms=billed,
            init_duration_ms=init_ms,
            max_memory_used_mb=peak,
            environment_dead=dead,
        )

    def _result_of(
        self, outcome: Outcome, request: InvocationRequest
    ) -> tuple[bytes, str | None, bool]:
        """(payload, function_error, environment_dead) for how the invocation ended."""
        rid = request.request_id
        if outcome.kind == "response" and outcome.reply is not None:
            return outcome.reply.body, None, False
        if outcome.kind == "error" and outcome.reply is not None:
            body = outcome.reply.body or log_format.error_payload(
                outcome.reply.error_type or "Unhandled", ""
            )
            return body, "Unhandled", False
        if outcome.kind == "too_large":
            return log_format.too_large_payload(), "Unhandled", False
        if outcome.kind == "timeout":
            self.platform_line(
                log_format.timeout_log_line(
                    epoch_s=self._clock.now(), request_id=rid, timeout_s=float(self._spec.timeout_s)
                )
            )
            return log_format.timeout_payload(rid, float(self._spec.timeout_s)), "Unhandled", True
        if outcome.kind == "exit":
            return self._exit_result(rid, outcome.exit_status, self._oom_killed())
        failure = self.init_failure
        assert failure is not None
        if failure.reply is not None:
            body = failure.reply.body or log_format.error_payload(
                failure.reply.error_type or "Runtime.Unknown", "Init failed"
            )
            return body, "Unhandled", True
        if failure.timed_out:
            message = (
                f"RequestId: {rid} Error: Init timed out after {failure.init_timeout_s:.2f} seconds"
            )
            self.platform_line(message)
            return log_format.error_payload("Sandbox.Timedout", message), "Unhandled", True
        if failure.exit_status is None and failure.reply is None:
            return log_format.error_payload("Runtime.Unknown", "Init failed"), "Unhandled", True
        return self._exit_result(rid, failure.exit_status or 0, failure.oom)

    def _exit_result(self, rid: str, status: int, oom: bool) -> tuple[bytes, str, bool]:
        error_type, payload = log_format.exit_payload(rid, status, oom=oom)
        self.platform_line(
            f"RequestId: {rid} Error: Runtime exited with error: "
            f"{log_format.exit_description(status)}"
        )
        self.platform_line(error_type)
        return payload, "Unhandled", True

    def _kill_now(self) -> None:
        if self.pid is not None and self.exit_status is None:
            self._kill(self.pid)

    # -- teardown -------------------------------------------------------------------------

    async def stop_process(self, wait_s: float = 5.0) -> None:
        """Kill the runtime (its whole pid namespace) and wait until the zygote reaps it."""
        self.api.close()
        if self.pid is not None:
            self._kill_now()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.exited), wait_s)
        self.drain_logs()
        if self._pipe is not None:
            self._pipe.close()

    async def destroy(self) -> None:
        if self.state is not EnvState.DEAD:
            self.move(EnvState.DEAD)
        if self._destroying is None:
            self._destroying = asyncio.get_running_loop().create_task(self._release(self))
        await asyncio.shield(self._destroying)
