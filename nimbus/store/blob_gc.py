"""Garbage collection of code blobs and their extractions that nothing references any more.

A blob (a function's or a layer version's zip, content-addressed) is referenced while any
function version ($LATEST or published) names it as its code, while a live layer version is
made of it, or while a deleted layer version is made of it and some function version still
uses that layer version (AWS: functions keep running a deleted layer version). DeleteFunction,
UpdateFunctionCode replacing code, DeleteFunction of a version and DeleteLayerVersion can each
leave a blob unreferenced; two functions with the same zip share one blob, which goes only
with the last reference.

Safe against concurrent writes by a grace period rather than a lock across the API: a blob is
deleted only once it has been unreferenced for ``grace_s`` *and* was last stored (written, or
stored again by a ``put`` of the same content, which touches it) more than ``grace_s`` ago.
CreateFunction, UpdateFunctionCode and PublishLayerVersion store the blob and then insert
the row that references it within milliseconds, so a reference a pass cannot see yet always
belongs to a blob younger than the grace; ``BlobStore.remove`` re-checks the time under the
lock ``put`` takes. The default grace (900 s, Lambda's longest timeout) also lets an
invocation already running code that was just deleted finish on its extracted directory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.clock import Clock
from nimbus.store.blobs import BlobStore, StoredBlob
from nimbus.store.schema import function_versions, layer_versions

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class LayerVersionRow:
    name: str
    version: int
    blob: str
    deleted: bool


@dataclass(frozen=True, kw_only=True)
class Sweep:
    """What one pass decided: the keys to delete, and the unreferenced keys to keep watching
    with when each was first seen unreferenced."""

    delete: frozenset[str]
    watching: Mapping[str, float]


def layer_key(arn: str) -> tuple[str, int] | None:
    """(name, version) of ``arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION`` (pure)."""
    parts = arn.split(":")
    if len(parts) != 8 or parts[5] != "layer" or not parts[7].isdigit():
        return None
    return parts[6], int(parts[7])


def referenced(
    function_configs: Iterable[Mapping[str, object]], layers: Iterable[LayerVersionRow]
) -> frozenset[str]:
    """The blob keys still referenced (pure), from every function version's stored config
    and every layer version."""
    keys: set[str] = set()
    used_layers: set[tuple[str, int]] = set()
    for config in function_configs:
        blob = config.get("code_blob")
        if isinstance(blob, str):
            keys.add(blob)
        layers_used = config.get("layers")
        for layer in layers_used if isinstance(layers_used, list) else ():
            arn = layer.get("arn") if isinstance(layer, Mapping) else None
            key = layer_key(arn) if isinstance(arn, str) else None
            if key is not None:
                used_layers.add(key)
    for row in layers:
        if not row.deleted or (row.name, row.version) in used_layers:
            keys.add(row.blob)
    return frozenset(keys)


def sweep(
    stored: Iterable[StoredBlob],
    references: frozenset[str],
    watching: Mapping[str, float],
    *,
    now_s: float,
    grace_s: float,
) -> Sweep:
    """Which stored blobs to delete now (pure): unreferenced since at least ``grace_s`` ago
    (by ``watching``, or from now if first seen now) and last stored at least as long ago."""
    delete: set[str] = set()
    still: dict[str, float] = {}
    for blob in stored:
        if blob.key in references:
            continue
        since = watching.get(blob.key, now_s)
        if now_s - since >= grace_s and now_s - blob.modified_s >= grace_s:
            delete.add(blob.key)
        else:
            still[blob.key] = since
    return Sweep(delete=frozenset(delete), watching=still)


class BlobGc:
    def __init__(
        self,
        engine: AsyncEngine,
        blobs: BlobStore,
        clock: Clock,
        *,
        grace_s: float,
        interval_s: float,
    ) -> None:
        self._engine = engine
        self._blobs = blobs
        self._clock = clock
        self._grace_s = grace_s
        self._interval_s = interval_s
        self._watching: Mapping[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def collect_once(self) -> frozenset[str]:
        """One pass: delete what has been unreferenced long enough; returns the keys."""
        # Listed before the references are read: a blob stored after the listing is not
        # considered at all; one stored before it is either referenced by now or young.
        stored = await asyncio.to_thread(self._blobs.inventory)
        references = await self._references()
        now = self._clock.now()
        decided = sweep(stored, references, self._watching, now_s=now, grace_s=self._grace_s)
        self._watching = decided.watching
        deleted = set()
        for key in decided.delete:
            if await asyncio.to_thread(
                self._blobs.remove, key, unless_stored_after=now - self._grace_s
            ):
                deleted.add(key)
        await asyncio.to_thread(
            self._blobs.remove_stale_temps, older_than=now - max(self._grace_s, 3600.0)
        )
        if deleted:
            log.info("code GC: deleted %d unreferenced blobs", len(deleted))
        return frozenset(deleted)

    async def _references(self) -> frozenset[str]:
        async with self._engine.connect() as conn:
            configs = (await conn.execute(sa.select(function_versions.c.config))).all()
            layers = (
                await conn.execute(
                    sa.select(
                        layer_versions.c.name,
                        layer_versions.c.version,
                        layer_versions.c.config,
                        layer_versions.c.deleted,
                    )
                )
            ).all()
        return referenced(
            (orjson.loads(row.config) for row in configs),
            (
                LayerVersionRow(
                    name=row.name,
                    version=int(row.version),
                    blob=str(orjson.loads(row.config).get("blob", "")),
                    deleted=bool(row.deleted),
                )
                for row in layers
            ),
        )

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._collect_forever())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _collect_forever(self) -> None:
        while True:
            await self._clock.sleep(self._interval_s)
            try:
                await self.collect_once()
            except Exception:  # a failed pass must not stop the next one
                log.exception("collecting unreferenced code blobs failed")
