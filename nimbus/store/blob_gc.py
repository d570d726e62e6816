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
lock ``put`` takes.

An environment still running code nothing references any more (an invocation of a function
just deleted, an idle environment of replaced $LATEST code waiting to be reaped) reads its
extracted directory as /var/task, so a blob is also kept for as long as such an environment
can live after it was first seen unreferenced (``EnvironmentLifetime``): Init, the longest
timeout of the function versions seen using it, the keep-alive and the reaper's slack. A
blob no pass saw in use (used and dropped between two passes, or before a restart) is held
for Lambda's longest timeout, 900 s. A fixed grace would not do: NIMBUS_KEEP_ALIVE above it
deleted /var/task under live environments.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.clock import Clock, Periodic
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
class EnvironmentLifetime:
    """How long an execution environment can go on running code after the code stops being
    referenced; the composition root fills it in from the settings."""

    keep_alive_s: float  # an idle environment is reaped after this long...
    reap_slack_s: float  # ...checked this often, plus its closing
    init_timeout_s: float  # an environment starting just then still has its Init to run
    longest_timeout_s: float = 900.0  # Lambda's maximum Timeout: for code never seen in use

    def after_unreferenced_s(self, timeout_s: float | None) -> float:
        """The longest an environment of code whose longest invocation timeout is
        ``timeout_s`` (None: unknown) can outlive the code's last reference (pure). No new
        environment starts on code nothing references, and one that was running goes at
        most one Init and one invocation later, plus the keep-alive."""
        timeout = self.longest_timeout_s if timeout_s is None else timeout_s
        return self.init_timeout_s + timeout + self.keep_alive_s + self.reap_slack_s


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


def longest_timeouts(
    function_configs: Iterable[Mapping[str, object]], layers: Iterable[LayerVersionRow]
) -> dict[str, float]:
    """For each blob a function version uses (as its code or as a layer), the longest
    Timeout of those versions (pure)."""
    layer_blobs = {(row.name, row.version): row.blob for row in layers}
    longest: dict[str, float] = {}

    def note(key: str, timeout: float) -> None:
        longest[key] = max(timeout, longest.get(key, 0.0))

    for config in function_configs:
        raw = config.get("timeout")
        timeout = float(raw) if isinstance(raw, int | float) else 900.0
        blob = config.get("code_blob")
        if isinstance(blob, str):
            note(blob, timeout)
        layers_used = config.get("layers")
        for layer in layers_used if isinstance(layers_used, list) else ():
            arn = layer.get("arn") if isinstance(layer, Mapping) else None
            key = layer_key(arn) if isinstance(arn, str) else None
            if key is not None and key in layer_blobs:
                note(layer_blobs[key], timeout)
    return longest


def remember_timeouts(
    previous: Mapping[str, float], seen: Mapping[str, float], stored: Iterable[str]
) -> dict[str, float]:
    """The longest timeout seen so far for each blob still stored (pure): a blob keeps what
    was seen while it was in use after it stops being used, and a lower Timeout set later
    does not shorten the wait for an invocation started under the higher one."""
    keep = set(stored)
    merged = {key: value for key, value in previous.items() if key in keep}
    for key, timeout in seen.items():
        merged[key] = max(timeout, merged.get(key, 0.0))
    return merged


def sweep(
    stored: Iterable[StoredBlob],
    references: frozenset[str],
    watching: Mapping[str, float],
    *,
    now_s: float,
    grace_s: float,
    hold_s: Mapping[str, float],
    unknown_hold_s: float,
) -> Sweep:
    """Which stored blobs to delete now (pure): unreferenced since (by ``watching``, or from
    now if first seen now) at least ``grace_s`` ago and at least as long as an environment may
    still run the blob (``hold_s``, or ``unknown_hold_s`` for a blob never seen in use), and
    last stored at least ``grace_s`` ago."""
    delete: set[str] = set()
    still: dict[str, float] = {}
    for blob in stored:
        if blob.key in references:
            continue
        since = watching.get(blob.key, now_s)
        wait = max(grace_s, hold_s.get(blob.key, unknown_hold_s))
        if now_s - since >= wait and now_s - blob.modified_s >= grace_s:
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
        lifetime: EnvironmentLifetime,
    ) -> None:
        self._engine = engine
        self._blobs = blobs
        self._clock = clock
        self._grace_s = grace_s
        self._interval_s = interval_s
        self._lifetime = lifetime
        self._watching: Mapping[str, float] = {}
        self._timeouts: Mapping[str, float] = {}
        self._periodic = Periodic(
            self.collect_once,
            clock=clock,
            interval_s=interval_s,
            what="collecting unreferenced code blobs",
        )
        self.passes = 0  # completed passes (logged, so a test can wait for one)

    async def collect_once(self) -> frozenset[str]:
        """One pass: delete what has been unreferenced long enough; returns the keys."""
        # Listed before the references are read: a blob stored after the listing is not
        # considered at all; one stored before it is either referenced by now or young.
        stored = await asyncio.to_thread(self._blobs.inventory)
        references, timeouts = await self._references()
        self._timeouts = remember_timeouts(self._timeouts, timeouts, (blob.key for blob in stored))
        lifetime = self._lifetime
        now = self._clock.now()
        decided = sweep(
            stored,
            references,
            self._watching,
            now_s=now,
            grace_s=self._grace_s,
            hold_s={k: lifetime.after_unreferenced_s(t) for k, t in self._timeouts.items()},
            unknown_hold_s=lifetime.after_unreferenced_s(None),
        )
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
        self.passes += 1
        # One line a pass (every NIMBUS_CODE_GC_INTERVAL, 5 minutes by default): what an
        # operator needs to see the collector alive, and what tests wait for.
        log.info(
            "code GC pass %d: deleted %d, %d unreferenced kept",
            self.passes,
            len(deleted),
            len(decided.watching),
        )
        return frozenset(deleted)

    async def _references(self) -> tuple[frozenset[str], dict[str, float]]:
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
        function_configs = [orjson.loads(row.config) for row in configs]
        layer_rows = [
            LayerVersionRow(
                name=row.name,
                version=int(row.version),
                blob=str(orjson.loads(row.config).get("blob", "")),
                deleted=bool(row.deleted),
            )
            for row in layers
        ]
        return (
            referenced(function_configs, layer_rows),
            longest_timeouts(function_configs, layer_rows),
        )

    def start(self) -> None:
        self._periodic.start()

    async def close(self) -> None:
        await self._periodic.close()
