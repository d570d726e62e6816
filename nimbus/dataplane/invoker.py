"""The invoke path: resolve the version, take a concurrency lease, get an environment, run.

    async with counting.lease(function)      -> 429 when over a limit
      async with assignment.acquire(spec)    -> warm environment, or a cold start
        await env.invoke(request)

The hot path reads no database: configurations come from the function service's cache and
environment specs are memoised per configuration.

``invoke_stream`` runs the same path in a task of its own and hands out the function's
response as it is written (``dataplane.streaming``).
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Protocol

from nimbus.clock import Clock, Random
from nimbus.control.functions import FunctionService
from nimbus.dataplane.assignment import Assignment
from nimbus.dataplane.counting import Counting
from nimbus.dataplane.streaming import Ran, StreamingInvocation
from nimbus.errors import (
    KMSAccessDeniedError,
    ResourceConflictError,
    ResourceNotFoundError,
    ResourceNotReadyError,
)
from nimbus.model.function import FunctionConfig
from nimbus.model.invocation import EnvironmentSpec, InvocationRequest, InvocationResult
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.observability.metrics import Metrics
from nimbus.store.blobs import BlobStore
from nimbus.worker.response_stream import ResponseStream


class InvokeResolver(Protocol):
    async def for_invoke(self, name: str, qualifier: str | None, draw: float) -> FunctionConfig:
        """The configuration one invocation runs (an alias picks a version by weight).
        Raises ResourceNotFoundError for an unknown function, version or alias."""


class LayerBlobs(Protocol):
    async def layer_blob(self, arn: str) -> str:
        """Blob key of a layer version's content (still there after the layer is deleted)."""


@dataclass(frozen=True, kw_only=True)
class InvokerSettings:
    region: str
    account_id: str
    endpoint_url: str


class LoopGuardPort(Protocol):
    async def trace_for(self, function: str, incoming: str | None, now: float) -> str:
        """The trace header this invocation runs with, continuing ``incoming``'s lineage;
        raises RecursiveInvocationError when recursive loop detection stops it
        (events/loop_guard.py)."""


@dataclass(frozen=True, kw_only=True)
class _Prepared:
    """An invocation decided and not yet run: what it runs, under which ids."""

    config: FunctionConfig
    spec: EnvironmentSpec
    request_id: str
    invoked_arn: str
    trace: str


def trace_id(now: float) -> str:
    """An X-Ray trace header as Lambda passes it (Lambda-Runtime-Trace-Id)."""
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


class Invoker:
    def __init__(
        self,
        *,
        settings: InvokerSettings,
        functions: FunctionService,
        resolver: InvokeResolver,
        layers: LayerBlobs,
        counting: Counting,
        assignment: Assignment,
        blobs: BlobStore,
        metrics: Metrics,
        clock: Clock,
        random: Random,
        loops: LoopGuardPort | None = None,
    ) -> None:
        self._settings = settings
        self._loops = loops
        self._functions = functions
        self._resolver = resolver
        self._layers = layers
        self._counting = counting
        self._assignment = assignment
        self._blobs = blobs
        self._metrics = metrics
        self._clock = clock
        self._random = random
        self._specs: dict[str, EnvironmentSpec] = {}
        self._streaming: set[asyncio.Task[Ran]] = set()  # streamed invocations still running

    async def invoke(self, call: InvokeCall) -> InvokeOutcome:
        prepared = await self._prepare(call)
        config = prepared.config
        started = time.perf_counter()
        try:
            async with (
                self._counting.lease(config.name),
                self._assignment.acquire(prepared.spec) as lease,
            ):
                self._count_in_flight(config.name)
                result: InvocationResult = await lease.env.invoke(self._request(prepared, call))
        except Exception as exc:
            self._metrics.failed_to_start(config.name, exc)
            raise
        self._invoked(config.name, result, started)
        return InvokeOutcome(
            request_id=prepared.request_id,
            executed_version=config.version,
            payload=result.payload,
            function_error=result.function_error,
            log_tail=result.log_tail,
            duration_ms=result.duration_ms,
            trace_id=prepared.trace,
        )

    @asynccontextmanager
    async def invoke_stream(self, call: InvokeCall) -> AsyncIterator[StreamingInvocation]:
        """Run ``call`` streaming its response: entered once the invocation has its
        concurrency and its environment (raising, as ``invoke`` does, when it cannot: not
        found, throttled, not active), it yields the invocation's handle; leaving abandons
        whatever is left unread. The function runs to its end either way."""
        prepared = await self._prepare(call)
        stream = ResponseStream()
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # Retrieved even when no one waits any more (the caller was cancelled meanwhile).
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        task = asyncio.create_task(self._run_streamed(prepared, call, stream, ready))
        self._streaming.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._streaming.discard)
        try:
            await asyncio.shield(ready)
            yield StreamingInvocation(
                request_id=prepared.request_id,
                executed_version=prepared.config.version,
                stream=stream,
                ran=task,
            )
        finally:
            stream.abandon()

    async def _run_streamed(
        self,
        prepared: _Prepared,
        call: InvokeCall,
        stream: ResponseStream,
        ready: asyncio.Future[None],
    ) -> Ran:
        name = prepared.config.name
        started = time.perf_counter()
        try:
            async with (
                self._counting.lease(name),
                self._assignment.acquire(prepared.spec) as lease,
            ):
                self._count_in_flight(name)
                ready.set_result(None)
                result = await lease.env.invoke(self._request(prepared, call), stream)
        except Exception as exc:
            self._metrics.failed_to_start(name, exc)
            if not ready.done():
                ready.set_exception(exc)
            return exc
        except BaseException:
            ready.cancel()
            raise
        finally:
            stream.close()
        self._invoked(name, result, started)
        return result

    async def _prepare(self, call: InvokeCall) -> _Prepared:
        config = await self._resolver.for_invoke(
            call.function_name, call.qualifier, self._random.random()
        )
        self._check_state(config)
        request_id = call.request_id or str(uuid.uuid4())
        spec = await self.spec_for(config)
        invoked_arn = self._functions.arns.function(config.name, call.qualifier)
        # Decided before any concurrency is taken: a stopped loop costs nothing.
        trace = (
            trace_id(self._clock.now())
            if self._loops is None
            else await self._loops.trace_for(config.name, call.trace_header, self._clock.now())
        )
        return _Prepared(
            config=config, spec=spec, request_id=request_id, invoked_arn=invoked_arn, trace=trace
        )

    def _request(self, prepared: _Prepared, call: InvokeCall) -> InvocationRequest:
        # The function's timeout runs from when its environment has it, as on AWS: a cold
        # start's Init has its own limit (worker.init_phase) and is not charged to the
        # invocation, however long a burst of cold starts makes it wait.
        now = self._clock.now()
        return InvocationRequest(
            request_id=prepared.request_id,
            payload=call.payload or b"{}",
            invoked_function_arn=prepared.invoked_arn,
            deadline_ms=int((now + prepared.config.timeout) * 1000),
            trace_id=prepared.trace,
            client_context=call.client_context,
            tail_logs=call.tail_logs,
        )

    def _count_in_flight(self, name: str) -> None:
        self._metrics.concurrency(name, self._counting.usage(name).in_flight)
        self._metrics.account_concurrency(self._counting.usage().in_flight)

    def _invoked(self, name: str, result: InvocationResult, started: float) -> None:
        self._metrics.invoked(
            name,
            duration_ms=result.duration_ms or (time.perf_counter() - started) * 1000,
            error=result.function_error is not None,
            cold=result.init_duration_ms is not None,
        )

    async def spec_for(
        self, config: FunctionConfig, *, provisioned: bool = False
    ) -> EnvironmentSpec:
        key = config.code_key + (":provisioned" if provisioned else "")
        spec = self._specs.get(key)
        if spec is not None:
            return spec
        code_dir = await self._blobs.extracted(config.code_blob)
        layer_dirs = [
            await self._blobs.extracted(await self._layers.layer_blob(layer.arn))
            for layer in config.layers
        ]
        spec = EnvironmentSpec(
            function_name=config.name,
            function_version=config.version,
            function_arn=self._functions.arns.function(config.name),
            runtime=config.runtime,
            architecture=config.architectures[0] if config.architectures else "x86_64",
            handler=config.handler,
            code_dir=code_dir,
            layer_dirs=tuple(layer_dirs),
            memory_mb=config.memory_size,
            timeout_s=config.timeout,
            ephemeral_storage_mb=config.ephemeral_storage,
            environment=dict(config.environment),
            role_arn=config.role,
            region=self._settings.region,
            account_id=self._settings.account_id,
            endpoint_url=self._settings.endpoint_url,
            initialization_type="provisioned-concurrency" if provisioned else "on-demand",
            config_key=config.code_key,
        )
        self._specs[key] = spec
        return spec

    async def on_function_change(self, name: str) -> None:
        """New code or configuration of ``name`` (or it was deleted): environments built from
        a configuration that is no longer current must not serve again."""
        for key in [k for k in self._specs if k.startswith(f"{name}:")]:
            del self._specs[key]
        live: set[str] = set()
        for version in {t.env.spec.function_version for t in self._assignment.environments(name)}:
            with suppress(ResourceNotFoundError):
                live.add((await self._functions.get_version(name, version)).code_key)
        self._assignment.retire_stale(name, live)

    def _check_state(self, config: FunctionConfig) -> None:
        if config.state == "Pending":
            raise ResourceConflictError(
                "The operation cannot be performed at this time. The function is currently in "
                "the following state: Pending"
            )
        if config.state == "Failed":
            raise ResourceNotReadyError(
                f"The function {config.name} is in the Failed state: {config.state_reason}"
            )
        if config.environment_error is not None:
            # AWS refuses to run a function whose variables it cannot decrypt (502).
            raise KMSAccessDeniedError(config.environment_error)
