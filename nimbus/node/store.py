"""Stage 1: the store — database (migrated to the current schema), blobs, the group-commit
writer and the log store. Everything later reads and writes through these. Two periodic
tasks keep the disk bounded: log retention and the collection of unreferenced code blobs.

With namespaces isolation the store also opens the worker's code volume first
(``sandbox.code_volume``): blobs are extracted onto it, and the hosts bind from it."""

from __future__ import annotations

import asyncio
import os
import shutil
from contextlib import AsyncExitStack
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.auth.node_key import NodeKey
from nimbus.clock import Clock
from nimbus.config import Settings
from nimbus.control.validation import TIMEOUT_RANGE
from nimbus.observability.log_retention import FixedRetention, LogRetention
from nimbus.observability.logs import LogStore
from nimbus.store.blob_gc import BlobGc, EnvironmentLifetime
from nimbus.store.blobs import BlobStore
from nimbus.store.database import database_url, open_engine
from nimbus.store.group_commit import GroupCommit
from nimbus.worker.host import choose_isolation
from nimbus.worker.sandbox.code_volume import CodeVolume, find_boto
from nimbus.worker.sandbox.config import NAMESPACES
from nimbus.worker.sandbox.launch import NIMBUS_PACKAGE


@dataclass(frozen=True, kw_only=True)
class StoreParts:
    engine: AsyncEngine
    node_key: NodeKey  # seals secrets and variables at rest (auth/node_key.py)
    blobs: BlobStore
    commit: GroupCommit  # acknowledged writes of queues, topics and async events
    logs: LogStore
    retention: LogRetention
    blob_gc: BlobGc
    volume: CodeVolume | None  # None: no namespaces isolation, or no volume can be made


async def open_volume(settings: Settings, stack: AsyncExitStack) -> CodeVolume | None:
    """The code volume, when sandboxes will be namespaces (only they bind code in)."""
    root = os.geteuid() == 0
    if not root or choose_isolation(settings.isolation, root=root) != NAMESPACES:
        return None
    volume = await CodeVolume.open(
        settings.data_dir / "sandboxes" / "code-volume",
        runtime_package=NIMBUS_PACKAGE,
        boto_source=find_boto(),
    )
    if volume is not None:
        stack.push_async_callback(volume.close)
        # Extractions an earlier start made in the data directory: a cache, rebuilt on the
        # volume as environments need them.
        await asyncio.to_thread(
            shutil.rmtree, settings.data_dir / "code" / "extracted", ignore_errors=True
        )
    return volume


def environment_lifetime(settings: Settings) -> EnvironmentLifetime:
    """How long an environment can outlive its code's last reference, so that code GC never
    deletes a /var/task in use (pure). The slack is the idle reaper's period
    (``dataplane.assignment``: a quarter of the keep-alive, at most 5 s) and a second for an
    environment being closed."""
    return EnvironmentLifetime(
        keep_alive_s=settings.keep_alive_s,
        reap_slack_s=min(settings.keep_alive_s / 4, 5.0) + 1.0,
        init_timeout_s=settings.init_timeout_s,
        longest_timeout_s=float(TIMEOUT_RANGE[1]),
    )


async def open_store(settings: Settings, stack: AsyncExitStack, *, clock: Clock) -> StoreParts:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    node_key = (
        NodeKey.from_base64(settings.node_key)
        if settings.node_key
        else NodeKey.load_or_create(settings.data_dir / "node.key")
    )
    engine = await open_engine(database_url(settings.store, settings.data_dir))
    stack.push_async_callback(engine.dispose)
    logs = LogStore(engine)
    logs.start()
    stack.push_async_callback(logs.close)
    commit = GroupCommit(engine)
    commit.start()
    stack.push_async_callback(commit.close)
    volume = await open_volume(settings, stack)
    blobs = BlobStore(
        settings.data_dir / "code", extracted=volume.code_dir if volume is not None else None
    )
    retention = LogRetention(engine, FixedRetention(days=settings.log_retention_days), clock)
    retention.start()
    stack.push_async_callback(retention.close)
    blob_gc = BlobGc(
        engine,
        blobs,
        clock,
        grace_s=settings.code_gc_grace_s,
        interval_s=settings.code_gc_interval_s,
        lifetime=environment_lifetime(settings),
    )
    blob_gc.start()
    stack.push_async_callback(blob_gc.close)
    return StoreParts(
        engine=engine,
        node_key=node_key,
        blobs=blobs,
        commit=commit,
        logs=logs,
        retention=retention,
        blob_gc=blob_gc,
        volume=volume,
    )
