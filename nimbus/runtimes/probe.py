"""Find the interpreters on this host and ask each its version: the thin shell around
``runtimes.discovery``. Probes run in parallel (each is one short subprocess), so the table
costs a server start about one interpreter's start-up time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from nimbus.runtimes.discovery import Broken, Interpreter, RuntimeTable, build_table

_VERSIONED = re.compile(r"^python3\.\d+$")
_PY_PROBE = "import sys; print(sys.implementation.name, *sys.version_info[:2], sys.base_prefix)"
TIMEOUT_S = 10.0


def discover(
    *,
    overrides: Mapping[str, str] = {},
    server_python: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> RuntimeTable:
    """The runtime table of this host: ``overrides`` (runtime -> path, from the setting)
    first, then the server's own Python, then what is installed."""
    env = os.environ if environ is None else environ
    candidates = list(_candidates(overrides, server_python, env))
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda c: probe(*c), candidates))
    return build_table(found, overrides)


def interpreters_only(python: str, node: str | None) -> RuntimeTable:
    """The table for exactly these two interpreters (hosts built without discovery)."""
    candidates = [("python", python, "server")]
    if node:
        candidates.append(("node", node, "PATH"))
    return build_table([probe(*c) for c in candidates])


def probe(kind: str, path: str, source: str) -> Interpreter | Broken:
    argv = [path, "-I", "-S", "-c", _PY_PROBE] if kind == "python" else [path, "--version"]
    try:
        out = subprocess.run(
            argv, capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.SubprocessError) as exc:
        return Broken(kind=kind, path=path, source=source, error=str(exc))
    try:
        if out.returncode != 0:
            raise ValueError(f"exit status {out.returncode}")
        if kind == "python":
            name, major, minor, prefix = out.stdout.strip().split(" ", 3)
            if name != "cpython":
                raise ValueError(f"{name}, not CPython")
            return Interpreter(
                kind=kind, path=path, version=(int(major), int(minor)), source=source, prefix=prefix
            )
        major_s, minor_s = out.stdout.strip().lstrip("v").split(".")[:2]
        return Interpreter(
            kind=kind, path=path, version=(int(major_s), int(minor_s)), source=source
        )
    except ValueError as exc:
        return Broken(kind=kind, path=path, source=source, error=str(exc))


def _candidates(
    overrides: Mapping[str, str], server_python: str | None, env: Mapping[str, str]
) -> Iterator[tuple[str, str, str]]:
    for runtime, path in overrides.items():
        yield ("python" if runtime.startswith("python") else "node", path, "setting")
    seen: set[str] = set()

    def fresh(path: Path) -> bool:
        real = os.path.realpath(path)
        if real in seen or not os.access(path, os.X_OK) or not path.is_file():
            return False
        seen.add(real)
        return True

    if server_python and fresh(Path(server_python)):
        yield ("python", server_python, "server")
    home = Path(env.get("HOME") or Path.home())
    path_dirs = [d for d in env.get("PATH", "").split(os.pathsep) if d and "shims" not in d]
    places: list[tuple[str, list[Path]]] = [
        ("PATH", [Path(d) for d in path_dirs]),
        ("/usr/bin", [Path("/usr/bin"), Path("/usr/local/bin")]),
        ("pyenv", _subdirs(Path(env.get("PYENV_ROOT") or home / ".pyenv") / "versions", "bin")),
        (
            "uv",
            _subdirs(
                Path(env.get("UV_PYTHON_INSTALL_DIR") or home / ".local/share/uv/python"), "bin"
            ),
        ),
    ]
    for source, dirs in places:
        for directory in dirs:
            for binary in _pythons(directory):
                if fresh(binary):
                    yield ("python", str(binary), source)
    node_dirs = [
        ("PATH", [Path(d) for d in path_dirs]),
        ("/usr/bin", [Path("/usr/bin"), Path("/usr/local/bin")]),
        ("nvm", _subdirs(Path(env.get("NVM_DIR") or home / ".nvm") / "versions/node", "bin")),
    ]
    for source, dirs in node_dirs:
        for directory in dirs:
            if fresh(directory / "node"):
                yield ("node", str(directory / "node"), source)


def _pythons(directory: Path) -> list[Path]:
    """``python3.X`` binaries in a directory, newest first, then a bare ``python3``."""
    try:
        names = [n for n in os.listdir(directory) if _VERSIONED.match(n)]
    except OSError:
        return []
    names.sort(key=lambda n: int(n.split(".")[1]), reverse=True)
    found = [directory / n for n in names]
    if (directory / "python3").exists():
        found.append(directory / "python3")
    return found


def _subdirs(root: Path, leaf: str) -> list[Path]:
    """``root/*/leaf``, newest version directory first (so 3.12.4 beats 3.12.1)."""
    try:
        names = sorted(os.listdir(root), key=_version_key, reverse=True)
    except OSError:
        return []
    return [root / name / leaf for name in names]


def _version_key(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", name)[:3])


def server_python() -> str:
    return sys.executable
