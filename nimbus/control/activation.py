"""Activation: a function's code prepared (extracted once for all its environments) after
CreateFunction or an update, and the state that leaves, as AWS reports it — a new function
``Pending`` then ``Active``, an update's LastUpdateStatus ``InProgress`` then ``Successful``;
``Failed`` with the reason when the code cannot be prepared. Each runs in a task of its own;
after a restart ``resume_pending`` finishes those a crash interrupted."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from nimbus.errors import public_reason
from nimbus.model.function import LATEST
from nimbus.store.blobs import BlobStore
from nimbus.store.functions import FunctionRepository

log = logging.getLogger(__name__)


class Activations:
    def __init__(
        self, *, repo: FunctionRepository, blobs: BlobStore, settled: Callable[[str], None]
    ) -> None:
        """``settled(name)`` is told once an activation has changed the function's $LATEST
        (the function service drops its cached configuration)."""
        self._repo = repo
        self._blobs = blobs
        self._settled = settled
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self, name: str, revision_id: str) -> None:
        """Activate ``name``'s $LATEST in the background, unless it is no longer at
        ``revision_id`` by then."""
        self._spawn(self._activate(name, revision_id))

    async def resume_pending(self) -> None:
        """After a restart, finish activations and updates a crash interrupted."""
        for name in await self._repo.all_latest_names():
            config = await self._repo.get_version(name, LATEST)
            if config is not None and (
                config.state == "Pending" or config.last_update_status == "InProgress"
            ):
                self.start(name, config.revision_id)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _activate(self, name: str, revision_id: str) -> None:
        """Prepare the code (extract it once for all environments), then mark the function
        Active / its update Successful — or Failed with the reason."""
        config = await self._repo.get_version(name, LATEST)
        if config is None or config.revision_id != revision_id:
            return
        try:
            await self._blobs.extracted(config.code_blob)
            done = config.replace(
                state="Active",
                state_reason=None,
                state_reason_code=None,
                last_update_status="Successful",
                last_update_status_reason=None,
                last_update_status_reason_code=None,
            )
        except Exception as exc:  # a broken archive must not crash the server
            log.exception("preparing code for %s failed", name)
            # The caller sees why, but not the server's paths (an OSError's text names the
            # extraction directory under the data dir); the log above has the whole error.
            why = public_reason(exc)
            done = config.replace(
                state="Failed" if config.state == "Pending" else config.state,
                state_reason=f"Could not prepare the deployment package: {why}",
                state_reason_code="InvalidZipFileException",
                last_update_status="Failed",
                last_update_status_reason=f"Could not prepare the deployment package: {why}",
                last_update_status_reason_code="InvalidZipFileException",
            )
        # The state change is not a new revision the caller can observe racing with:
        # AWS keeps RevisionId across the Pending -> Active transition too.
        if await self._repo.put_version(done, expect_revision=revision_id):
            self._settled(name)

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
