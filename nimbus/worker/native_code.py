"""Checking a function's native files against this host's architecture, at Init.

The shell around ``worker.architecture``: it finds the custom runtime's ``bootstrap`` and the
shared libraries under the code and layer directories, reads their first bytes, and hands
them to the pure rules. Each directory is walked once: code and layer directories are
extracted blobs, named by their content, so what is in them never changes.
"""

from __future__ import annotations

import asyncio
import os
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nimbus.model.invocation import EnvironmentSpec
from nimbus.runtimes import registry
from nimbus.worker import architecture, env_vars
from nimbus.worker.architecture import Mismatch
from nimbus.worker.backend import MissingEntrypoint


class ForeignBootstrap(MissingEntrypoint):
    """The custom runtime's bootstrap is an executable for another architecture: like a
    missing one, Init fails (``Runtime.InvalidEntrypoint``) without a process starting."""


@dataclass(frozen=True, kw_only=True)
class _Scan:
    """What one directory holds that the architecture rules look at."""

    has_bootstrap: bool  # an executable ``bootstrap`` at its top, as Lambda looks for
    bootstrap: Mismatch | None  # that bootstrap, when it is ELF for another architecture
    libraries: tuple[Mismatch, ...]  # shared libraries for another architecture


class NativeCode:
    """Decides, at each Init, what an environment's architecture means for it (see
    ``check``). One per worker host; it keeps one small scan per directory it has seen."""

    def __init__(self, host_arch: str | None = None) -> None:
        self.host_arch = host_arch or architecture.host_architecture(platform.machine())
        self._scans: dict[Path, _Scan] = {}

    async def check(
        self, spec: EnvironmentSpec, opt: Path | None, *, log: Callable[[str], None] | None
    ) -> None:
        """Write the warning lines for ``spec`` through ``log`` (None: write none, e.g. on
        Init's retry, which is the same cold start), then raise ``ForeignBootstrap`` when the
        bootstrap Init would start is built for another architecture. ``opt`` is the merged
        layer directory (``Launch.opt``). Never raises for unreadable files: they are not
        native code as far as this check knows."""
        bootstrap, libraries = await self._findings(spec, opt)
        found = architecture.verdict(
            function_arch=spec.architecture,
            host_arch=self.host_arch,
            bootstrap=bootstrap,
            libraries=libraries,
            wrapped=env_vars.exec_wrapper(spec.environment) is not None,
        )
        if log is not None:
            for line in found.lines:
                log(line)
        if found.error is not None:
            raise ForeignBootstrap(found.error)

    async def _findings(
        self, spec: EnvironmentSpec, opt: Path | None
    ) -> tuple[Mismatch | None, tuple[Mismatch, ...]]:
        """(the foreign bootstrap Init would start, foreign libraries) of ``spec``."""
        scans: list[_Scan] = []
        for directory, shown in ((spec.code_dir, "/var/task"), (opt, "/opt")):
            if directory is None:
                continue
            scan = self._scans.get(directory)
            if scan is None:
                scan = await asyncio.to_thread(_scan, directory, shown, self.host_arch)
                self._scans[directory] = scan
            scans.append(scan)
        bootstrap = None
        if registry.family_of(spec.runtime) == "provided":
            # Lambda runs /var/task/bootstrap, else /opt/bootstrap: the first one present.
            used = next((scan for scan in scans if scan.has_bootstrap), None)
            bootstrap = used.bootstrap if used is not None else None
        libraries = tuple(item for scan in scans for item in scan.libraries)
        return bootstrap, libraries


def _scan(directory: Path, shown: str, host_arch: str) -> _Scan:
    """Walk ``directory`` (blocking: run in a thread). ``shown`` is where the function sees
    it (/var/task, /opt), which is how the lines and errors name files."""
    bootstrap = directory / "bootstrap"
    has_bootstrap = bootstrap.is_file() and os.access(bootstrap, os.X_OK)
    foreign = None
    if has_bootstrap and bootstrap.resolve().is_relative_to(directory.resolve()):
        # (A bootstrap linking outside its directory names a file only the sandbox sees.)
        found = architecture.mismatches([(f"{shown}/bootstrap", _head(bootstrap))], host_arch)
        foreign = found[0] if found else None
    libraries: list[tuple[str, bytes]] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        relative = os.path.relpath(root, directory)
        for name in sorted(files):
            path = os.path.join(root, name)
            # Links are skipped: the file they name is walked under its own name.
            if _is_library(name) and not os.path.islink(path):
                inside = name if relative == "." else f"{relative}/{name}"
                libraries.append((f"{shown}/{inside}", _head(Path(path))))
    return _Scan(
        has_bootstrap=has_bootstrap,
        bootstrap=foreign,
        libraries=architecture.mismatches(libraries, host_arch),
    )


def _is_library(name: str) -> bool:
    """``*.so`` and ``*.so.*`` (shared libraries, Python extensions) and ``*.node`` (Node.js
    addons, which are shared libraries too)."""
    return name.endswith((".so", ".node")) or ".so." in name


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            return file.read(architecture.HEADER_BYTES)
    except OSError:
        return b""
