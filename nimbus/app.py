"""Composition root: builds every part once and wires them together."""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass

from starlette.applications import Starlette

from nimbus.clock import SystemClock, system_random
from nimbus.config import Settings
from nimbus.control.aliases import AliasService
from nimbus.control.concurrency import ConcurrencyService
from nimbus.control.event_config import EventConfigService
from nimbus.control.functions import FunctionService
from nimbus.control.layers import LayerService
from nimbus.control.provisioned import ProvisionedService
from nimbus.control.versions import VersionService
from nimbus.dataplane.assignment import Assignment
from nimbus.dataplane.counting import Counting
from nimbus.dataplane.invoker import Invoker, InvokerSettings
from nimbus.dataplane.placement import HostSlot, Placement
from nimbus.errors import NimbusError
from nimbus.events.destinations import Destinations
from nimbus.events.policy import RetrySettings
from nimbus.events.poller import EventPoller
from nimbus.events.service import EventService
from nimbus.frontend import (
    aliases_api,
    concurrency_api,
    events_api,
    invoke_api,
    layers_api,
    logs_api,
    node_api,
    provisioned_api,
    root_api,
    versions_api,
)
from nimbus.frontend.app import build_asgi
from nimbus.frontend.context import AccountLimit, Services
from nimbus.frontend.fast_path import HotRoutes
from nimbus.model.arn import Arns
from nimbus.model.function import FunctionConfig
from nimbus.model.invocation import EnvironmentSpec
from nimbus.observability.logs import LogStore
from nimbus.observability.metrics import Metrics
from nimbus.queues.service import QueueService
from nimbus.queues.topics import TopicService
from nimbus.store.aliases import AliasRepository
from nimbus.store.async_events import AsyncEventRepository
from nimbus.store.blobs import BlobStore
from nimbus.store.database import database_url, open_engine
from nimbus.store.event_configs import EventConfigRepository
from nimbus.store.functions import FunctionRepository
from nimbus.store.group_commit import GroupCommit
from nimbus.store.layers import LayerRepository
from nimbus.store.queues import QueueRepository
from nimbus.store.topics import TopicRepository
from nimbus.worker.host import LocalWorkerHost
from nimbus.worker.ports import WorkerHost

log = logging.getLogger(__name__)

EXTRA_ROUTES = [
    *invoke_api.routes,
    *concurrency_api.routes,
    *provisioned_api.routes,
    *logs_api.routes,
    *node_api.routes,
    *versions_api.routes,
    *aliases_api.routes,
    *layers_api.routes,
    *events_api.routes,
    *root_api.routes,
]


def default_host_memory_mb() -> int:
    """Four times the machine's memory. Placement books each environment at its MemorySize,
    but an environment forked from a zygote really uses a few MB (measured: 1-2 MB private),
    and its cgroup enforces its own limit; booking 1:1 would refuse work the machine does
    easily. Sandboxes carry the highest OOM score, so true exhaustion kills functions, not
    the server. Set NIMBUS_HOST_MEMORY_MB for a strict budget."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(1024, 4 * pages // (1024 * 1024))


def build_local_host(*, settings: Settings, log_sink: LogStore, clock: SystemClock) -> WorkerHost:
    return LocalWorkerHost(
        data_dir=settings.data_dir / "sandboxes",
        log_sink=log_sink,
        clock=clock,
        isolation=settings.isolation,
    )


@dataclass(kw_only=True)
class Node:
    """Everything one `nimbus server` process runs."""

    settings: Settings
    services: Services
    assignment: Assignment
    invoker: Invoker


@asynccontextmanager
async def open_node(settings: Settings) -> AsyncIterator[Node]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = SystemClock()
    async with AsyncExitStack() as stack:
        engine = await open_engine(database_url(settings.store, settings.data_dir))
        stack.push_async_callback(engine.dispose)
        blobs = BlobStore(settings.data_dir / "code")
        arns = Arns(region=settings.region, account=settings.account_id)
        logs = LogStore(engine)
        logs.start()
        stack.push_async_callback(logs.close)

        host = build_local_host(settings=settings, log_sink=logs, clock=clock)
        await host.start()
        placement = Placement(
            [
                HostSlot(
                    id="local",
                    host=host,
                    budget_mb=settings.host_memory_mb or default_host_memory_mb(),
                )
            ]
        )
        stack.push_async_callback(placement.close)
        runnable = list(placement.runnable_runtimes())

        functions = FunctionService(
            repo=FunctionRepository(engine),
            blobs=blobs,
            arns=arns,
            clock=clock,
            runnable_runtimes=lambda: runnable,
        )
        stack.push_async_callback(functions.close)
        layers = LayerService(repo=LayerRepository(engine), blobs=blobs, arns=arns, clock=clock)
        functions.resolve_layers = layers.resolve
        aliases = AliasService(repo=AliasRepository(engine), functions=functions)
        versions = VersionService(
            repo=FunctionRepository(engine),
            functions=functions,
            alias_users=aliases.referencing,
            clock=clock,
        )

        async def publish_with_update(
            name: str, code_sha256: str | None, revision_id: str | None, description: str
        ) -> FunctionConfig:
            # Publish=True on CreateFunction/UpdateFunctionCode publishes that very update.
            return await versions.publish(
                name,
                code_sha256=code_sha256,
                revision_id=revision_id,
                description=description or None,
                with_update=True,
            )

        counting = Counting(
            clock=clock,
            account_limit=settings.account_concurrency,
            scale_limit=settings.scale_limit,
            scale_window_s=settings.scale_window_s,
        )
        concurrency = ConcurrencyService(engine=engine, functions=functions, counting=counting)
        await concurrency.load()
        metrics = Metrics()
        assignment = Assignment(
            placement=placement,
            clock=clock,
            keep_alive_s=settings.keep_alive_s,
            on_cold_start=counting.note_environment_start,
        )
        assignment.start()
        stack.push_async_callback(assignment.close)
        invoker = Invoker(
            settings=InvokerSettings(
                region=settings.region,
                account_id=settings.account_id,
                endpoint_url=settings.endpoint_url,
            ),
            functions=functions,
            counting=counting,
            assignment=assignment,
            blobs=blobs,
            metrics=metrics,
            clock=clock,
            random=system_random(),
        )

        async def provisioned_spec(config: FunctionConfig) -> EnvironmentSpec:
            return await invoker.spec_for(config, provisioned=True)

        provisioned = ProvisionedService(
            engine=engine,
            functions=functions,
            assignment=assignment,
            counting=counting,
            # Settings on an alias apply to its primary version; `services` is bound below.
            resolve=lambda name, qualifier: services.resolve_config(name, qualifier),
            build_spec=provisioned_spec,
            clock=clock,
        )
        await provisioned.load()
        stack.push_async_callback(provisioned.close)

        async def on_function_change(name: str) -> None:
            # New code or configuration: environments built from a configuration that is no
            # longer current (or of a deleted function or version) must not serve again.
            invoker.forget(name)
            current: set[str] = set()
            for tracked in assignment.environments(name):
                version = tracked.pool_key.split(":")[1]
                with suppress(NimbusError):
                    current.add((await functions.get_version(name, version)).code_key)
            assignment.retire_where(lambda t: t.function != name or t.pool_key in current)
            if not await functions.exists(name):
                await concurrency.forget(name)
                await provisioned.forget(name)

        functions.on_change(on_function_change)
        functions.on_change(aliases.on_function_change)
        invoker.route_alias = aliases.route
        invoker.layer_blob = layers.layer_blob

        # Async invocation, built-in queues and topics (events/, queues/): one group-commit
        # writer for their acknowledged writes; `services` is bound below.
        commit = GroupCommit(engine)
        commit.start()
        stack.push_async_callback(commit.close)
        queues = QueueService(
            repo=QueueRepository(engine),
            commit=commit,
            clock=clock,
            endpoint_url=settings.endpoint_url,
            region=settings.region,
            account_id=settings.account_id,
        )
        await queues.load()
        topics = TopicService(
            repo=TopicRepository(engine),
            commit=commit,
            queues=queues,
            accept=lambda call: events.accept(call),
            clock=clock,
            region=settings.region,
            account_id=settings.account_id,
            endpoint_url=settings.endpoint_url,
        )
        await topics.load()
        event_configs = EventConfigService(
            repo=EventConfigRepository(engine),
            resolve=lambda name, qualifier: services.resolve_config(name, qualifier),
            arns=arns,
            clock=clock,
        )
        await event_configs.load()

        async def dead_letter_target(name: str, qualifier: str | None) -> str | None:
            try:
                return (await services.resolve_config(name, qualifier)).dead_letter_target
            except NimbusError:
                return None

        async def forget_event_configs(name: str) -> None:
            if not await functions.exists(name):
                await event_configs.forget(name)

        functions.on_change(forget_event_configs)
        event_repo = AsyncEventRepository(engine)
        poller = EventPoller(
            repo=event_repo,
            commit=commit,
            invoker=invoker,
            configs=event_configs,
            destinations=Destinations(
                queues=queues, topics=topics, accept=lambda call: events.accept(call)
            ),
            dead_letter=dead_letter_target,
            arns=arns,
            retry=RetrySettings(
                function_error_delays_s=settings.async_retry_delays_s,
                backoff_initial_s=settings.async_backoff_s[0],
                backoff_max_s=settings.async_backoff_s[-1],
            ),
            clock=clock,
            concurrency=settings.async_concurrency,
            lease_s=settings.async_claim_lease_s,
        )
        stack.push_async_callback(poller.close)
        events = EventService(
            repo=event_repo,
            commit=commit,
            poller=poller,
            resolve=lambda name, qualifier: services.resolve_config(name, qualifier),
            clock=clock,
        )

        services = Services(
            functions=functions,
            blobs=blobs,
            invoker=invoker,
            events=events,
            event_configs=event_configs,
            queues=queues,
            topics=topics,
            metrics=metrics,
            concurrency=concurrency,
            provisioned=provisioned,
            logs=logs,
            versions=versions,
            aliases=aliases,
            layers=layers,
            publish=publish_with_update,
            delete_version=versions.delete,
            alias_version=aliases.version_for,
            reserved_concurrency=counting.reserved,
            account_limit=lambda: AccountLimit(
                concurrent_executions=counting.account_limit,
                unreserved=counting.unreserved_limit,
            ),
        )
        await functions.resume_pending()
        # One SQLite node: claims left in the store belong to this node's previous process.
        await poller.start(release_stale_claims=engine.dialect.name == "sqlite")
        yield Node(settings=settings, services=services, assignment=assignment, invoker=invoker)


def build_app(settings: Settings) -> HotRoutes:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_node(settings) as node:
            app.state.services = node.services
            # Everything built so far lives as long as the server: keep it out of the cyclic
            # collector's way, and collect young objects less often (each request allocates
            # hundreds of short-lived objects; the default threshold collects every ~700).
            gc.collect()
            gc.freeze()
            gc.set_threshold(50_000, 20, 100)
            log.info("nimbus listening on %s", settings.endpoint_url)
            yield

    return HotRoutes(build_asgi(extra_routes=EXTRA_ROUTES, lifespan=lifespan))
