"""One execution environment on this host: its sandbox, Runtime API endpoint, log stream
(``worker.environment_log``) and lifecycle. Invocations run one at a time, as on Lambda.

An on-demand environment whose Init failed or overran keeps its identity but not its runtime:
its first invoke builds a fresh sandbox and runs Init again within the function's timeout (a
"suppressed init", ``worker.init_phase``; one that fails too, ``worker.suppressed_init``), as
AWS does.

An idle environment is frozen, as AWS freezes it between invocations: ``freeze_after_s``
after it is READY (after Init or an invocation; never during Init) and its runtime has
parked in ``/next``, whichever comes last, its sandbox is stopped until the next invocation
thaws it (``worker.idle_freeze``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from nimbus.clock import Clock
from nimbus.model.invocation import (
    EnvironmentSpec,
    InvocationRequest,
    InvocationResult,
)
from nimbus.worker import log_format, suppressed_init
from nimbus.worker.backend import Sandbox, SandboxHandle
from nimbus.worker.environment_log import EnvironmentLog
from nimbus.worker.environment_state import EnvState, can_move, next_state
from nimbus.worker.idle_freeze import IdleFreeze, Schedule, loop_timer
from nimbus.worker.outcome import (
    Exited,
    InitFailed,
    InitOutcome,
    Ok,
    Outcome,
    RuntimeReply,
    TimedOut,
    Truncated,
    init_report,
    verdict,
)
from nimbus.worker.ports import LogSink
from nimbus.worker.response_stream import ResponseStream
from nimbus.worker.runtime_api import RuntimeApi

log = logging.getLogger(__name__)

# How long a cut-short stream waits for its runtime's exit to be seen (see _exit_behind).
TRUNCATION_GRACE_S = 0.5

# Runs Init again for an environment in a fresh sandbox, within a time limit (seconds):
# returns how it ended and how long it took (ms). Raises as a cold start does when no sandbox
# can be built.
RetryInit = Callable[["LocalEnvironment", float], Awaitable[tuple[InitOutcome, float]]]


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
        retry_init: RetryInit | None = None,
        freeze_after_s: float | None = None,
        freeze_timer: Schedule = loop_timer,
    ) -> None:
        """``retry_init`` is how a failed Init is run again in the first invoke; None when it
        is not (provisioned concurrency): that invoke then only reports the failure.
        ``freeze_after_s``: how long the environment idles before it is frozen; None: never.
        ``freeze_timer`` schedules that freeze (the event loop's timers)."""
        self._id = env_id
        self._spec = spec
        self.api = api
        self.log = EnvironmentLog(
            group=spec.log_group,
            stream=log_stream,
            sink=log_sink,
            clock=clock,
            initializing=lambda: self.state in (EnvState.CREATING, EnvState.INITIALIZING),
        )
        self._clock = clock
        self._billed_init = billed_init  # custom runtimes are billed for Init, as on AWS
        self._sandbox = sandbox
        self._forget = forget  # the host drops the environment once its sandbox is released
        self._retry_init = retry_init
        self._releasing: asyncio.Task[None] | None = None  # the failed runtime, going away
        self.state = EnvState.CREATING
        self._handle: SandboxHandle | None = None
        self.exit_status: int | None = None
        self.init_duration_ms: float | None = None
        self.init_failure: InitFailed | None = None
        self._outcome: asyncio.Future[Outcome] | None = None
        self._destroying: asyncio.Task[None] | None = None
        self._freezer = IdleFreeze(freeze_after_s, self._idle, schedule=freeze_timer)
        api.on_parked = self._runtime_parked

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
    def init_error(self) -> bool:
        return self.init_failure is not None

    @property
    def pid(self) -> int | None:
        """The runtime's host pid while it runs, else None (diagnostics only)."""
        handle = self._handle
        if handle is None or handle.exit_status is not None or not handle.pid:
            return None
        return handle.pid

    @property
    def alive(self) -> bool:
        return self.state not in (EnvState.DEAD,) and self.exit_status is None

    def move(self, target: EnvState) -> None:
        self.state = next_state(self.state, target)

    # -- process --------------------------------------------------------------------------

    def rebind(self, api: RuntimeApi, sandbox: Sandbox) -> None:
        """Take a fresh sandbox and Runtime API for Init's retry (the old ones are released)."""
        self.api = api
        api.on_parked = self._runtime_parked
        self._sandbox = sandbox
        self._handle = None
        self.exit_status = None

    def process_started(self, handle: SandboxHandle) -> None:
        self._handle = handle
        handle.on_exit(lambda status: self._process_exited(handle, status))

    def _process_exited(self, handle: SandboxHandle, status: int) -> None:
        """The runtime is gone: end whatever was waiting on it."""
        if handle is not self._handle:
            return  # a runtime this environment has already replaced
        self.exit_status = status
        self._freezer.cancel()
        if self._outcome is not None and not self._outcome.done():
            self._outcome.set_result(Exited(status=status))
        idle = self.state is EnvState.READY or (
            self.state is EnvState.INIT_FAILED and self._retry_init is None
        )
        if idle and self._destroying is None:
            # Died while idle: release the sandbox now rather than when someone notices.
            self._destroying = asyncio.get_running_loop().create_task(self._teardown())

    def init_succeeded(self, duration_ms: float) -> None:
        self.init_duration_ms = duration_ms
        if self._handle is not None:
            self._handle.initialized()
        self.move(EnvState.READY)
        self._arm_freeze()

    def _idle(self) -> bool:
        return self.state is EnvState.READY and self.api.parked

    def _arm_freeze(self) -> None:
        """Arm the idle freeze once READY and parked in /next, by whichever comes last: the
        runtime's /next may reach the Runtime API before the invocation's end is seen here."""
        if self.api.parked:
            self._freezer.idle(self._handle)

    def _runtime_parked(self) -> None:
        if self.state is EnvState.READY:
            self._freezer.idle(self._handle)

    def init_failed(self, failure: InitFailed, duration_ms: float) -> None:
        """Init ended in ``failure``: write INIT_REPORT and keep the failure for the first
        invoke, which runs Init again (on demand) or reports it (provisioned)."""
        self.init_duration_ms = duration_ms
        self.init_failure = failure
        self.log.drain()  # the function's own Init output comes before INIT_REPORT
        status, error_type = init_report(failure.cause)
        self.log.platform_line(
            log_format.init_report_line(
                duration_ms=duration_ms, phase="init", status=status, error_type=error_type
            )
        )
        self.move(EnvState.INIT_FAILED)
        self._kill_now()  # never reused: AWS re-runs Init in a fresh sandbox
        if self._retry_init is not None:
            self._releasing = asyncio.get_running_loop().create_task(self._release_runtime())

    def oom_killed(self) -> bool:
        return self._handle is not None and self._handle.oom_killed()

    def _peak(self) -> int:
        return self._handle.peak_memory_mb() if self._handle is not None else 0

    # -- invoke ---------------------------------------------------------------------------

    async def invoke(
        self, request: InvocationRequest, stream: ResponseStream | None = None
    ) -> InvocationResult:
        """Run ``request``; a response the runtime streams goes to ``stream`` as it arrives
        (None: the caller wants it buffered)."""
        if self.state is EnvState.DEAD or (
            self.exit_status is not None and self.state is not EnvState.INIT_FAILED
        ):
            raise RuntimeError(f"environment {self._id} is not alive")
        loop = asyncio.get_running_loop()
        self.move(EnvState.BUSY)
        self._freezer.wake(self._handle)
        try:
            return await self._invoke_busy(request, loop, stream)
        except BaseException:
            # Whatever broke mid-invoke (a retried Init that could not spawn, a cancel), this
            # environment must never be handed out again: it dies, its sandbox is released.
            if can_move(self.state, EnvState.DEAD):
                self.api.abandon()
                self._kill_now()
                self.move(EnvState.DEAD)
                self._destroying = loop.create_task(self._teardown())
            raise

    async def _invoke_busy(
        self,
        request: InvocationRequest,
        loop: asyncio.AbstractEventLoop,
        stream: ResponseStream | None,
    ) -> InvocationResult:
        rid = request.request_id
        self.log.begin(tail=request.tail_logs, init_failed=self.init_failure is not None)
        # Reported once, on the cold-start invocation; a provisioned environment was
        # initialised ahead of time, so (as on AWS) its REPORT lines carry no Init Duration.
        init_ms = (
            None
            if self._spec.initialization_type == "provisioned-concurrency"
            else (self.init_duration_ms)
        )
        self.init_duration_ms = None
        started = self._clock.monotonic()
        outcome: Outcome | None = self.init_failure
        retried_ms: float | None = None
        if self.init_failure is not None and self._retry_init is not None:
            # After a suppressed init AWS's REPORT has no Init Duration: Duration covers it.
            init_ms = None
            request, outcome, retried_ms = await self._suppressed_init(request)
        self.log.platform_line(log_format.start_line(rid, self._spec.function_version))
        if outcome is None:
            outcome = await self._run(request, stream)
        duration_ms = (self._clock.monotonic() - started) * 1000
        peak = self._peak()
        self.log.drain()
        if isinstance(outcome, Truncated):
            outcome = await self._exit_behind(outcome)
        if isinstance(outcome, Exited):
            outcome = Exited(status=outcome.status, oom=self.oom_killed())
        judged = verdict(outcome, request_id=rid, now_s=self._clock.now())
        for line in judged.log_lines:
            self.log.platform_line(line)
        dead = judged.environment_dead
        if dead:
            self.api.abandon()
            self._kill_now()
            if isinstance(outcome, Exited) and outcome.oom:
                peak = self._spec.memory_mb  # AWS reports the limit for an OOM kill
        self.log.platform_line(log_format.end_line(rid))
        billed = log_format.billed_ms(duration_ms, init_ms if self._billed_init else None)
        self.log.platform_line(
            log_format.report_line(
                request_id=rid,
                duration_ms=duration_ms,
                billed_duration_ms=billed,
                memory_mb=self._spec.memory_mb,
                max_memory_used_mb=peak,
                init_duration_ms=init_ms,
            )
        )
        tail = self.log.end()
        dead = dead or self.exit_status is not None
        if dead:
            self.move(EnvState.DEAD)
            self._destroying = loop.create_task(self._teardown())
        else:
            self.move(EnvState.READY)
            self._arm_freeze()
        return InvocationResult(
            payload=judged.payload,
            function_error=judged.function_error,
            log_tail=tail,
            duration_ms=duration_ms,
            billed_duration_ms=billed,
            init_duration_ms=init_ms if retried_ms is None else retried_ms,
            max_memory_used_mb=peak,
            environment_dead=dead,
        )

    async def _suppressed_init(
        self, request: InvocationRequest
    ) -> tuple[InvocationRequest, Outcome | None, float]:
        """Run the failed Init again, as AWS does in the invocation after a failed Init.

        The invocation has the function's whole timeout from now, Init included. Returns the
        request to run (its deadline moved accordingly) with no outcome yet, or the outcome
        that ends the invocation, and how long this Init took (ms)."""
        assert self._retry_init is not None
        deadline_s = self._clock.now() + self._spec.timeout_s
        if self._releasing is not None:
            await self._releasing  # the failed runtime is gone before its successor starts
            self._releasing = None
        cause, duration_ms = await self._retry_init(self, deadline_s - self._clock.now())
        if isinstance(cause, Ok):
            self.init_failure = None
            if self._handle is not None:
                self._handle.initialized()
            return replace(request, deadline_ms=int(deadline_s * 1000)), None, duration_ms
        self.log.drain()
        outcome, report = suppressed_init.failed(
            cause, duration_ms=duration_ms, timeout_s=self._spec.timeout_s
        )
        self.log.platform_line(report)
        return request, outcome, duration_ms

    async def _run(self, request: InvocationRequest, stream: ResponseStream | None) -> Outcome:
        """Hand ``request`` to the runtime; its reply, its death or the deadline ends it."""
        loop = asyncio.get_running_loop()
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
        self.api.dispatch(request, reply, stream)
        try:
            return await future
        finally:
            timer.cancel()
            self._outcome = None

    async def _exit_behind(self, outcome: Truncated) -> Outcome:
        """A streamed response cut short is most often its runtime dying (the connection
        goes with the process, a moment before its exit is seen): given that moment, a crash
        is reported as one (``Runtime.ExitError``), whichever the host noticed first."""
        handle = self._handle
        if handle is not None and handle.exit_status is None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(handle.wait()), TRUNCATION_GRACE_S)
        if handle is not None and handle.exit_status is not None:
            return Exited(status=handle.exit_status)
        return outcome

    def _kill_now(self) -> None:
        self._freezer.cancel()
        if self._handle is not None:
            self._handle.kill()

    # -- teardown -------------------------------------------------------------------------

    async def _release_runtime(self, wait_s: float = 5.0) -> None:
        """Kill the runtime (its whole sandbox), wait until it is gone, release the sandbox."""
        self.api.close()
        if self._handle is not None:
            self._handle.kill()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._handle.wait(), wait_s)
        self.log.close()
        await self._sandbox.release()

    async def _teardown(self) -> None:
        if self._releasing is not None:
            await asyncio.shield(self._releasing)
        await self._release_runtime()
        self._forget(self)

    async def destroy(self) -> None:
        self._freezer.cancel()  # the kill thaws a frozen sandbox where the kernel needs it
        if self.state is not EnvState.DEAD:
            self.move(EnvState.DEAD)
        if self._destroying is None:
            self._destroying = asyncio.get_running_loop().create_task(self._teardown())
        await asyncio.shield(self._destroying)
