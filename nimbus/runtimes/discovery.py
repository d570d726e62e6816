"""Which runtime each interpreter on this host can serve, and why a runtime is missing (pure).

The shell (``runtimes.probe``) finds candidate interpreters and asks each its version; this
module turns that list into the host's runtime table. First candidate wins: the probe orders
them by preference (an explicit setting, then the server's own Python, then PATH, /usr/bin,
pyenv, uv), so the table is the same for the same machine every time.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nimbus.runtimes import registry

# Nimbus's Python runtime client and zygote need 3.10 (dataclass kw_only, match).
MIN_PYTHON = (3, 10)
SETTING = "NIMBUS_RUNTIMES"
PYTHON_PLACES = "PATH, /usr/bin, pyenv, uv"
NODE_PLACES = "PATH, /usr/bin, /usr/local/bin, nvm"


@dataclass(frozen=True, kw_only=True)
class Interpreter:
    """One probed interpreter. ``version`` is (major, minor); ``prefix`` is Python's
    ``sys.base_prefix`` (its standard library), empty for Node.js."""

    kind: str  # "python" | "node"
    path: str
    version: tuple[int, int]
    source: str  # "setting", "server", "PATH", "/usr/bin", "pyenv", "uv", "nvm", ...
    prefix: str = ""

    @property
    def runtime(self) -> str:
        """The AWS runtime identifier this interpreter's version answers to."""
        major, minor = self.version
        return f"python{major}.{minor}" if self.kind == "python" else f"nodejs{major}.x"


@dataclass(frozen=True, kw_only=True)
class Broken:
    """A path that was given or found but could not be probed (missing, not executable,
    not an interpreter)."""

    kind: str
    path: str
    source: str
    error: str


@dataclass(frozen=True, kw_only=True)
class RuntimeEntry:
    runtime: str
    interpreter: Interpreter | None  # None: this host cannot run it
    reason: str = ""  # why it is missing; empty when present

    @property
    def available(self) -> bool:
        return self.interpreter is not None


@dataclass(frozen=True)
class RuntimeTable:
    entries: tuple[RuntimeEntry, ...]

    def interpreter(self, runtime: str) -> Interpreter | None:
        for entry in self.entries:
            if entry.runtime == runtime:
                return entry.interpreter
        return None

    def runnable(self) -> tuple[str, ...]:
        """Runtime identifiers with an interpreter, then the OS-only ones (always)."""
        found = tuple(entry.runtime for entry in self.entries if entry.available)
        return (*found, *registry.PROVIDED, "provided")


def build_table(
    found: Sequence[Interpreter | Broken], overrides: Mapping[str, str] = {}
) -> RuntimeTable:
    """The runtime table from probed candidates (in preference order) and the setting that
    maps runtimes to explicit paths. A mapped runtime uses its path or nothing: a mapping
    that does not work is reported, never silently replaced by another interpreter."""
    entries: list[RuntimeEntry] = []
    for runtime in (*registry.PYTHON, *registry.NODEJS):
        kind = "python" if runtime.startswith("python") else "node"
        if runtime in overrides:
            entries.append(_mapped(runtime, overrides[runtime], found))
            continue
        match = next(
            (
                c
                for c in found
                if isinstance(c, Interpreter) and c.source != "setting" and c.runtime == runtime
            ),
            None,
        )
        if match is not None and kind == "python" and match.version < MIN_PYTHON:
            entries.append(
                RuntimeEntry(
                    runtime=runtime,
                    interpreter=None,
                    reason=f"{match.path} is Python {_dotted(match.version)}; Nimbus's "
                    f"runtime client needs Python {_dotted(MIN_PYTHON)} or later",
                )
            )
        elif match is not None:
            entries.append(RuntimeEntry(runtime=runtime, interpreter=match))
        else:
            places = PYTHON_PLACES if kind == "python" else NODE_PLACES
            entries.append(
                RuntimeEntry(
                    runtime=runtime,
                    interpreter=None,
                    reason=f"no interpreter found (looked in {places}; or map one with "
                    f"{SETTING}={runtime}=/path/to/{_binary(runtime)})",
                )
            )
    return RuntimeTable(tuple(entries))


def _mapped(runtime: str, path: str, found: Sequence[Interpreter | Broken]) -> RuntimeEntry:
    given = [c for c in found if c.source == "setting" and c.path == path]
    if not given:
        return RuntimeEntry(runtime=runtime, interpreter=None, reason=f"{path} was not probed")
    candidate = given[0]
    if isinstance(candidate, Broken):
        return RuntimeEntry(
            runtime=runtime,
            interpreter=None,
            reason=f"{SETTING} maps it to {path}, which does not run: {candidate.error}",
        )
    if candidate.runtime != runtime:
        return RuntimeEntry(
            runtime=runtime,
            interpreter=None,
            reason=f"{SETTING} maps it to {path}, which is {candidate.runtime}",
        )
    return RuntimeEntry(runtime=runtime, interpreter=candidate)


def parse_overrides(text: str) -> dict[str, str]:
    """``"python3.12=/opt/py/bin/python3.12, nodejs22.x=/n/bin/node"`` -> a mapping. Raises
    ValueError naming the bad part (an unknown runtime, a missing path)."""
    mapping: dict[str, str] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        runtime, sep, path = (s.strip() for s in part.partition("="))
        if not sep or not path:
            raise ValueError(f"{SETTING}: {part!r} is not runtime=/path/to/interpreter")
        if runtime not in registry.PYTHON and runtime not in registry.NODEJS:
            raise ValueError(
                f"{SETTING}: {runtime!r} is not a Python or Node.js runtime Nimbus offers "
                f"({', '.join((*registry.PYTHON, *registry.NODEJS))})"
            )
        mapping[runtime] = path
    return mapping


def _dotted(version: tuple[int, int]) -> str:
    return ".".join(str(part) for part in version)


def _binary(runtime: str) -> str:
    return runtime if runtime.startswith("python") else "node"
