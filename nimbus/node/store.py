"""Stage 1: the store — database (migrated to the current schema), blobs, the group-commit
writer and the log store. Everything later reads and writes through these."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.config import Settings
from nimbus.observability.logs import LogStore
from nimbus.store.blobs import BlobStore
from nimbus.store.database import database_url, open_engine
from nimbus.store.group_commit import GroupCommit


@dataclass(frozen=True, kw_only=True)
class StoreParts:
    engine: AsyncEngine
    blobs: BlobStore
    commit: GroupCommit  # acknowledged writes of queues, topics and async events
    logs: LogStore


async def open_store(settings: Settings, stack: AsyncExitStack) -> StoreParts:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = await open_engine(database_url(settings.store, settings.data_dir))
    stack.push_async_callback(engine.dispose)
    logs = LogStore(engine)
    logs.start()
    stack.push_async_callback(logs.close)
    commit = GroupCommit(engine)
    commit.start()
    stack.push_async_callback(commit.close)
    return StoreParts(
        engine=engine, blobs=BlobStore(settings.data_dir / "code"), commit=commit, logs=logs
    )
