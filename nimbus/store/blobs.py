"""Content-addressed blob store: code zips and layer zips on disk, keyed by sha256.

Writes go to a temporary file, are fsynced and renamed into place, so a crash never leaves a
half-written blob under its final name. Extraction is cached per blob: every environment of a
version shares one read-only directory.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self._root = root
        self._blobs = root / "blobs"
        self._extracted = root / "extracted"
        self._blobs.mkdir(parents=True, exist_ok=True)
        self._extracted.mkdir(parents=True, exist_ok=True)
        self._locks: dict[str, asyncio.Lock] = {}

    def path(self, key: str) -> Path:
        return self._blobs / key[:2] / key

    def exists(self, key: str) -> bool:
        return self.path(key).exists()

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; returns its hex sha256. Blocking: call from a thread."""
        key = hashlib.sha256(data).hexdigest()
        final = self.path(key)
        if final.exists():
            return key
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
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

    def read(self, key: str) -> bytes:
        return self.path(key).read_bytes()

    async def extracted(self, key: str) -> Path:
        """The blob's zip extracted to a directory (cached, world-readable, not writable)."""
        target = self._extracted / key
        if target.exists():
            return target
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if not target.exists():
                await asyncio.to_thread(self._extract, key, target)
        return target

    def _extract(self, key: str, target: Path) -> None:
        staging = Path(tempfile.mkdtemp(dir=self._extracted, prefix=".tmp-"))
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
