"""Content-addressed blob store: code zips and layer zips on disk, keyed by sha256.

Writes go to a temporary file, are fsynced and renamed into place, so a crash never leaves a
half-written blob under its final name. Extraction is cached per blob: every environment of a
version shares one read-only directory.

Blobs no function, version or layer version references any more are deleted, with their
extraction, by ``store.blob_gc``. A blob's modification time is when it was last written or
stored again (``put`` of the same content touches it, under the same lock ``remove`` takes),
so a collection never deletes a blob a concurrent CreateFunction has just stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
import threading
import zipfile
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

TEMP_PREFIX = ".tmp-"


@dataclass(frozen=True, kw_only=True)
class StoredBlob:
    key: str
    modified_s: float  # when it was last stored (put touches it)
    size: int  # bytes of the zip (extractions are not walked: a pass stays cheap)


class _KeyLock:
    """The lock extractions of one key take, and how many callers hold or await it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class BlobStore:
    def __init__(self, root: Path, *, extracted: Path | None = None) -> None:
        """Blobs live under ``root``; their extractions under ``extracted``
        (``root/extracted`` by default; the worker's code volume, ``sandbox.code_volume``,
        when it has one, so that sandboxes bind /var/task from a filesystem of its own)."""
        self._root = root
        self._blobs = root / "blobs"
        self._extracted = extracted if extracted is not None else root / "extracted"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._extracted.mkdir(parents=True, exist_ok=True)
        # One lock per key being extracted, kept only while someone waits for it (so the dict
        # never outgrows the extractions in flight). Touched only on the event loop: asyncio
        # locks and this dict are not thread-safe, and remove() runs in a worker thread.
        self._locks: dict[str, _KeyLock] = {}
        # put() finding or renaming a blob into place, and remove() deciding to delete one,
        # never interleave (both run in worker threads).
        self._guard = threading.Lock()

    def path(self, key: str) -> Path:
        return self._blobs / key[:2] / key

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; returns its hex sha256. Blocking: call from a thread."""
        key = hashlib.sha256(data).hexdigest()
        final = self.path(key)
        if self._touch(final):
            return key
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            with self._guard:
                os.replace(tmp, final)
            dir_fd = os.open(final.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return key

    def _touch(self, final: Path) -> bool:
        """Mark an existing blob as just stored (False if there is none)."""
        with self._guard:
            try:
                os.utime(final)
            except FileNotFoundError:
                return False
            return True

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    async def extracted(self, key: str) -> Path:
        """The blob's zip extracted to a directory (cached, world-readable, not writable)."""
        target = self._extracted / key
        if target.exists():
            return target
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = _KeyLock()
        entry.users += 1
        try:
            async with entry.lock:
                if not target.exists():
                    await asyncio.to_thread(self._extract, key, target)
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]
        return target

    def _extract(self, key: str, target: Path) -> None:
        staging = Path(tempfile.mkdtemp(dir=self._extracted, prefix=TEMP_PREFIX))
        try:
            with zipfile.ZipFile(self.path(key)) as archive:
                for info in archive.infolist():
                    extracted = Path(archive.extract(info, staging))
                    mode = (info.external_attr >> 16) & 0o777
                    if info.is_dir():
                        extracted.chmod(0o755)
                    else:
                        # Keep execute bits (a `bootstrap` must stay executable), make
                        # everything readable by the unprivileged function user.
                        extracted.chmod((mode | 0o444) & 0o755 if mode else 0o644)
            staging.chmod(0o755)
            os.replace(staging, target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

    # -- garbage collection (store.blob_gc) -----------------------------------------------

    def inventory(self) -> list[StoredBlob]:
        """Every stored blob, and every extraction left without its blob. Blocking."""
        found: dict[str, StoredBlob] = {}
        for shard in _listdir(self._blobs):
            for entry in _listdir(Path(shard.path)):
                if entry.name.startswith(TEMP_PREFIX) or not entry.is_file():
                    continue
                with suppress(FileNotFoundError):
                    stat = entry.stat()
                    found[entry.name] = StoredBlob(
                        key=entry.name, modified_s=stat.st_mtime, size=stat.st_size
                    )
        for entry in _listdir(self._extracted):
            if entry.name.startswith(TEMP_PREFIX) or not entry.is_dir():
                continue
            if entry.name not in found:  # an extraction whose blob is gone
                with suppress(FileNotFoundError):
                    found[entry.name] = StoredBlob(
                        key=entry.name, modified_s=entry.stat().st_mtime, size=0
                    )
        return list(found.values())

    def remove(self, key: str, *, unless_stored_after: float) -> bool:
        """Delete a blob and its extraction, unless it was stored (or stored again) after
        ``unless_stored_after`` (epoch seconds). Blocking; True if deleted."""
        final = self.path(key)
        with self._guard:
            try:
                if final.stat().st_mtime > unless_stored_after:
                    return False
                final.unlink()
            except FileNotFoundError:
                pass
        target = self._extracted / key
        if target.exists():
            # Renamed first: a concurrent extracted() then sees no directory and extracts anew
            # rather than mounting one half deleted.
            doomed = self._extracted / f"{TEMP_PREFIX}gc-{key}"
            with suppress(FileNotFoundError):
                os.replace(target, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
        return True

    def remove_stale_temps(self, *, older_than: float) -> int:
        """Delete temporary files and directories a crash left (older than ``older_than``,
        epoch seconds). Blocking; returns how many."""
        removed = 0
        dirs = [self._extracted, *(Path(entry.path) for entry in _listdir(self._blobs))]
        for directory in dirs:
            for entry in _listdir(directory):
                if not entry.name.startswith(TEMP_PREFIX):
                    continue
                with suppress(FileNotFoundError):
                    if entry.stat(follow_symlinks=False).st_mtime > older_than:
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        shutil.rmtree(entry.path, ignore_errors=True)
                    else:
                        os.unlink(entry.path)
                    removed += 1
        return removed


def _listdir(path: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return list(entries)
    except (FileNotFoundError, NotADirectoryError):
        return []
