"""The port between the worker host and whatever builds sandboxes.

``LocalWorkerHost`` runs the Runtime API, the Init handshake and the environment bookkeeping;
a ``SandboxBackend`` turns a configured environment into a running runtime process. Today's
backends fork from a zygote (``sandbox.namespaces_backend``: namespaces + cgroups + a uid
each; ``sandbox.process_backend``: plain child processes). A gVisor or microVM backend is one
more module implementing these protocols.

A sandbox is made in two steps because the Runtime API must know which peer to trust before
the runtime can start: ``reserve`` claims the sandbox's identity and resources, the host opens
the Runtime API for that identity, then ``Sandbox.spawn`` starts the runtime against it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from nimbus.model.invocation import EnvironmentSpec


class MissingEntrypoint(Exception):
    """A custom runtime has no runnable bootstrap: Init fails (``Runtime.InvalidEntrypoint``)
    without a process ever starting."""


@dataclass(frozen=True, kw_only=True)
class Launch:
    """Everything a sandbox is started with besides its ``EnvironmentSpec``."""

    runtime_api: str  # host:port of this environment's Runtime API (AWS_LAMBDA_RUNTIME_API)
    log_stream: str  # AWS_LAMBDA_LOG_STREAM_NAME
    log_fd: int  # write end of the log pipe: the runtime's stdout and stderr
    opt: Path | None  # the function's layers merged into one directory, or None


class SandboxHandle(Protocol):
    """A started runtime. Every method is safe to call after the process has died."""

    @property
    def pid(self) -> int:
        """The runtime's pid in the host's pid namespace (diagnostics, memory figures); 0 when
        no process was ever started. May name a recycled process once the runtime is gone."""

    @property
    def exit_status(self) -> int | None:
        """None while running; then the exit code, or minus the signal number."""

    def kill(self) -> None:
        """SIGKILL everything in the sandbox. Idempotent and never raises; the death is
        reported through ``wait``/``on_exit`` like any other."""

    async def wait(self) -> int:
        """Wait until the runtime is gone and return its exit status. Never raises; a lost
        backend (its zygote died) reports the runtime as killed (-9)."""

    def on_exit(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(status)`` once the runtime is gone: now if it already is, else
        from the event loop. Callbacks run in registration order."""

    def oom_killed(self) -> bool:
        """Whether the sandbox's memory limit killed a process in it. False when the backend
        cannot tell (no memory cgroup); never raises."""

    def peak_memory_mb(self) -> int:
        """The runtime's peak resident memory so far, in MB rounded up; 0 when unknown.
        Cheap (called on every invoke) and never raises."""

    def initialized(self) -> None:
        """Init has succeeded: apply the limits that would slow Init down (CPU weight or
        quota). Never raises."""

    def freeze(self) -> bool:
        """Stop every process of the sandbox until ``thaw``: an idle environment does not
        run between invocations, as AWS freezes it. True when it is (or already was)
        frozen; False when this sandbox cannot be frozen (no cgroup freezer, e.g. process
        isolation) or has exited, and nothing happened. Cheap, never raises; ``kill``
        works on a frozen sandbox."""

    def thaw(self) -> None:
        """Let a frozen sandbox run again; nothing when it is not frozen. Never raises."""


class Sandbox(Protocol):
    """A reserved sandbox: its identity and resources, and at most one runtime in it."""

    @property
    def peer_uid(self) -> int | None:
        """The uid the runtime connects to the Runtime API from, which the Runtime API then
        requires; None when the runtime runs as the host's own user (nothing to check), or
        when only the runtime can reach its Runtime API anyway (``runtime_api_socket``)."""

    def runtime_api_socket(self) -> socket.socket | None:
        """A listening socket for this sandbox's Runtime API that only its runtime can
        connect to (127.0.0.1:9001 inside its own network namespace, as on AWS); None: the
        host binds one on its own loopback. Raises OSError when it cannot be made."""

    async def spawn(self, spec: EnvironmentSpec, launch: Launch) -> SandboxHandle:
        """Start the runtime. Called at most once. The caller keeps (and closes) its copy of
        ``launch.log_fd``. Raises ``MissingEntrypoint`` when there is nothing to run; any
        other exception (``ServiceError``, ``OSError``, ``ZygoteError``) means the sandbox
        could not be built. Either way the caller still calls ``release``. A runtime that
        starts and then fails is never an exception: it is an exit the handle reports."""

    async def release(self) -> None:
        """Kill whatever is left in the sandbox and free its resources (cgroup, uid).
        Idempotent and never raises."""


class SandboxBackend(Protocol):
    @property
    def isolation(self) -> str:
        """The isolation level this backend provides (``sandbox.config`` names)."""

    async def start(self) -> None:
        """Start helper processes (a zygote) and claim host resources. Raises ServiceError
        when this backend cannot run here (e.g. needs root)."""

    async def close(self) -> None:
        """Stop helper processes and give host resources back. Sandboxes must have been
        released first; never raises."""

    def runnable_runtimes(self) -> Sequence[str]:
        """Runtime identifiers this backend can run (interpreters present)."""

    async def reserve(self, env_id: str, spec: EnvironmentSpec) -> Sandbox:
        """Claim a sandbox's identity and resources; nothing runs yet. Raises ServiceError
        when the host has none left (no free uid), OSError when a resource cannot be made.
        The caller must ``release`` what it gets."""
