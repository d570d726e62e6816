"""The host's side of the zygote (``nimbus.worker.sandbox.zygote_server``): starts it, asks it
to spawn sandboxes and kill them, and turns its exit reports into callbacks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import subprocess
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from nimbus.worker.sandbox.config import SandboxConfig

log = logging.getLogger(__name__)

NIMBUS_ROOT = str(Path(__file__).resolve().parents[3])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from nimbus.worker.sandbox.zygote_server import main; main()"
)


class ZygoteError(Exception):
    pass


class ZygoteClient:
    def __init__(self, *, python: str) -> None:
        self._python = python
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._hello: asyncio.Future[dict[str, Any]] | None = None
        self._spawns: dict[str, asyncio.Future[int]] = {}
        self._exit_listeners: dict[int, Callable[[int], None]] = {}
        self._early_exits: dict[int, int] = {}
        self._outbox: deque[tuple[bytes, tuple[int, ...]]] = deque()
        self.prefix = ""
        self.version = ""

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONUTF8": "1"}
        self._process = subprocess.Popen(
            [self._python, "-I", "-S", "-c", _BOOT, str(theirs.fileno()), NIMBUS_ROOT],
            pass_fds=[theirs.fileno()],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            close_fds=True,
            # Its own session: a Ctrl-C at the server's terminal must reach the server, which
            # then shuts the zygote down (it also exits when the server's socket closes).
            start_new_session=True,
        )
        theirs.close()
        ours.setblocking(False)
        self._sock = ours
        self._hello = loop.create_future()
        loop.add_reader(ours.fileno(), self._readable)
        hello = await asyncio.wait_for(self._hello, 30)
        self.prefix = str(hello["prefix"])
        self.version = str(hello["version"])

    def make_stem(self, stem_id: str, cgroup_procs: tuple[str, ...]) -> None:
        """Pre-fork a launcher that joins these cgroups and waits for a spawn."""
        message = {"op": "stem", "stem": stem_id, "cgroup_procs": list(cgroup_procs)}
        self._send(json.dumps(message).encode())

    def _send(self, message: bytes, fds: Sequence[int] = ()) -> None:
        """Send now, or queue until the socket is writable: a burst of cold starts can fill
        the socket buffer, and a non-blocking send must then wait rather than fail."""
        if self._sock is None:
            return
        if not self._outbox:
            try:
                socket.send_fds(self._sock, [message], list(fds))
                return
            except BlockingIOError:
                asyncio.get_running_loop().add_writer(self._sock.fileno(), self._flush)
        self._outbox.append((message, tuple(fds)))

    def _flush(self) -> None:
        assert self._sock is not None
        while self._outbox:
            message, fds = self._outbox[0]
            try:
                socket.send_fds(self._sock, [message], list(fds))
            except BlockingIOError:
                return
            except OSError:
                self._outbox.clear()
                break
            self._outbox.popleft()
        asyncio.get_running_loop().remove_writer(self._sock.fileno())

    async def spawn(self, config: SandboxConfig, log_fd: int, stem: str | None = None) -> int:
        """Fork a sandbox (from a pre-forked stem if given); returns the runtime's pid in the
        host's pid namespace."""
        if self._sock is None:
            raise ZygoteError("zygote not running")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._spawns[config.env_id] = future
        message = json.dumps(
            {"op": "spawn", "config": config.to_json().decode(), "stem": stem}
        ).encode()
        self._send(message, [log_fd])
        try:
            return await future
        finally:
            self._spawns.pop(config.env_id, None)

    def on_exit(self, pid: int, callback: Callable[[int], None]) -> None:
        """``callback(status)`` once the runtime ``pid`` is reaped (now, if it already was).
        Status is the exit code, or minus the signal number."""
        if pid in self._early_exits:
            callback(self._early_exits.pop(pid))
        else:
            self._exit_listeners[pid] = callback

    def kill(self, pid: int) -> None:
        with contextlib.suppress(OSError):
            self._send(json.dumps({"op": "kill", "pid": pid}).encode())

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            self._handle(json.loads(data))

    def _handle(self, message: dict[str, Any]) -> None:
        op = message["op"]
        if op == "hello" and self._hello is not None and not self._hello.done():
            self._hello.set_result(message)
        elif op == "spawned":
            future = self._spawns.get(message["env"])
            if future is not None and not future.done():
                future.set_result(int(message["pid"]))
        elif op == "failed":
            future = self._spawns.get(message["env"])
            if future is not None and not future.done():
                future.set_exception(ZygoteError(message["error"]))
        elif op == "exit":
            pid, status = int(message["pid"]), int(message["status"])
            listener = self._exit_listeners.pop(pid, None)
            if listener is None:
                self._early_exits[pid] = status
            else:
                listener(status)

    def _lost(self) -> None:
        """The zygote died: every sandbox it reaped for us is as good as gone."""
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
            log.error("zygote exited; its environments are lost")
        for future in self._spawns.values():
            if not future.done():
                future.set_exception(ZygoteError("zygote exited"))
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(ZygoteError("zygote failed to start"))
        listeners, self._exit_listeners = self._exit_listeners, {}
        for callback in listeners.values():
            callback(-9)

    async def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()  # EOF: the zygote kills its children and exits
            self._sock = None
        if self._process is not None:
            process, self._process = self._process, None
            try:
                await asyncio.to_thread(process.wait, 5)
            except subprocess.TimeoutExpired:
                process.kill()
                await asyncio.to_thread(process.wait)

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid


def close_fd(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)
