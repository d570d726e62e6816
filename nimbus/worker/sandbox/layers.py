"""Merging a function's layers into one /opt tree, cached per ordered list of layers.

Later layers override earlier ones, as Lambda extracts them in order into /opt. Files are
hard-linked (copied across filesystems), so a merge costs a directory walk, not the data.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from pathlib import Path


def _link_or_copy(source: str, target: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(target)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def merged_opt(cache_dir: Path, layer_dirs: tuple[Path, ...]) -> Path | None:
    """The /opt directory for these layers (None without layers; the layer itself if one).
    Blocking: call from a thread."""
    if not layer_dirs:
        return None
    if len(layer_dirs) == 1:
        return layer_dirs[0]
    key = hashlib.sha256("\0".join(str(p.resolve()) for p in layer_dirs).encode()).hexdigest()
    target = cache_dir / key[:32]
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = cache_dir / f".{key[:32]}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    for layer in layer_dirs:
        shutil.copytree(
            layer, staging, symlinks=True, copy_function=_link_or_copy, dirs_exist_ok=True
        )
    try:
        staging.rename(target)
    except OSError:  # someone else merged the same layers meanwhile
        shutil.rmtree(staging, ignore_errors=True)
    return target
