"""The host's side of the zygote (``nimbus.worker.sandbox.zygote_server``): starts it, asks it
to spawn sandboxes and kill them, and turns its exit reports into callbacks.

It also supervises it. A zygote that dies (killed, crashed) takes its runtimes with it: they
are reported killed (-9), cold starts waiting on it fail with ``ZygoteLost``, and a new one
is started at once, then after growing delays while restarts keep failing
(``restart_delay``). Cold starts arriving meanwhile wait for the restart (up to
``SPAWN_WAIT_S``) rather than fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nimbus.worker.sandbox import seccomp_filter
from nimbus.worker.sandbox.config import SandboxConfig, spawn_fds
from nimbus.worker.sandbox.fd_passing import SendQueue, close_all, dup_each, memfd_holding
from nimbus.worker.sandbox.fd_passing import close_fd as close_fd  # for the host
from nimbus.worker.sandbox.zygote_policy import (
    RESTART_DELAYS_S,
    SPAWN_WAIT_S,
    STABLE_AFTER_S,
    ZygoteError,
    ZygoteLost,
    restart_delay,
    unreachable,
)

log = logging.getLogger(__name__)

NIMBUS_ROOT = str(Path(__file__).resolve().parents[3])
_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[2]); "
    "from nimbus.worker.sandbox.zygote_server import main; main()"
)


def _ignore_exit(status: int) -> None:
    return None


class ZygoteClient:
    def __init__(
        self,
        *,
        python: str,
        restart_delays: tuple[float, ...] = RESTART_DELAYS_S,
        spawn_wait_s: float = SPAWN_WAIT_S,
        seccomp: bool = True,
    ) -> None:
        self._python = python
        # False runs sandboxes without the seccomp filter; True refuses to start a zygote
        # when libseccomp cannot build it, rather than run functions unfiltered silently.
        self._seccomp = seccomp
        self._restart_delays = restart_delays
        self._spawn_wait_s = spawn_wait_s
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._hello: asyncio.Future[dict[str, Any]] | None = None
        # Set once the zygote on ``_sock`` said hello and its generation is counted: only
        # then may cold starts go to it (a zygote that never says hello fails them).
        self._confirmed = False
        self._launching: asyncio.Future[None] | None = None  # done when a start attempt ends
        self._spawns: dict[str, asyncio.Future[int]] = {}
        self._exit_listeners: dict[int, Callable[[int], None]] = {}
        self._early_exits: dict[int, int] = {}
        self._outbox = SendQueue()
        self._send = self._outbox.send
        # Stems asked of each zygote generation: a stem of a dead generation is gone, and
        # the sandbox must then join its cgroups itself (``spawn``).
        self._stems: dict[str, tuple[int, tuple[str, ...]]] = {}
        self._generation = 0
        self._starting: asyncio.Future[None] | None = None
        self._waiters: list[asyncio.Future[None]] = []
        self._failures = 0
        self._started_at = 0.0
        self._closed = False
        self.restarts = 0  # how many times a dead zygote was replaced
        self.prefix = ""
        self.version = ""

    @property
    def running(self) -> bool:
        return self._sock is not None and self._confirmed

    async def start(self) -> None:
        """Start the zygote now. Raises ZygoteLost if it does not come up."""
        await self._launch()

    async def ensure_running(self) -> None:
        """Start the zygote if it is not running (a lazily started zygote's first cold
        start, or a restart in progress), waiting up to ``spawn_wait_s``. Raises ZygoteLost
        when it is not running by then, or the client is closed."""
        if self.running:
            return
        if self._closed:
            raise ZygoteLost("zygote not running (shutting down)")
        starting = self._launching
        if starting is not None:
            # A zygote is starting (its socket attached, its hello not in yet): wait for
            # that attempt only, which times out on its own; as below, a failed start fails
            # this cold start now.
            await asyncio.wait([starting], timeout=self._spawn_wait_s)
            if not self.running:
                raise ZygoteLost(f"zygote not running ({self._python} failed to start)")
            return
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._supervise(first_delay=False))
        # Wait for the next attempt only: a zygote that fails to start fails this cold start
        # now, while the supervisor keeps retrying for later ones.
        attempt: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(attempt)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(attempt, self._spawn_wait_s)
        if not self.running:
            raise ZygoteLost(f"zygote not running ({self._python} failed to start)")

    async def _supervise(self, *, first_delay: bool) -> None:
        """(Re)start until a zygote runs or the client closes, backing off between tries."""
        while not self._closed and self._sock is None:
            if first_delay or self._failures:
                await asyncio.sleep(restart_delay(self._failures, self._restart_delays))
            first_delay = True
            if self._closed:
                return
            try:
                await self._launch()
            except (ZygoteError, OSError, TimeoutError) as exc:
                self._failures += 1
                log.error("zygote %s failed to start: %s", self._python, exc)
            finally:
                waiters, self._waiters = self._waiters, []
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_result(None)

    async def _launch(self) -> None:
        """One start attempt; cold starts arriving meanwhile wait for it (``_launching``)."""
        self._launching = launching = asyncio.get_running_loop().create_future()
        try:
            await self._start_zygote()
        finally:
            if self._launching is launching:
                self._launching = None
            launching.set_result(None)

    async def _start_zygote(self) -> None:
        loop = asyncio.get_running_loop()
        await self._reap_old()
        program = self._seccomp_program()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONUTF8": "1"}
        # The filter goes through a pipe the zygote reads once at start (a few KB: within
        # the pipe's buffer, so this write never blocks).
        pass_fds = [theirs.fileno()]
        filter_arg = "-"
        if program is not None:
            filter_r, filter_w = os.pipe()
            try:
                os.write(filter_w, program)
            finally:
                os.close(filter_w)
            pass_fds.append(filter_r)
            filter_arg = str(filter_r)
        try:
            argv = [self._python, "-I", "-S", "-c", _BOOT, str(theirs.fileno())]
            self._process = subprocess.Popen(
                [*argv, NIMBUS_ROOT, filter_arg],
                pass_fds=pass_fds,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                close_fds=True,
                # Its own session: a Ctrl-C at the server's terminal must reach the server,
                # which then shuts the zygote down (it also exits when the socket closes).
                start_new_session=True,
            )
        finally:
            for fd in pass_fds[1:]:
                os.close(fd)
        theirs.close()
        hello_future = self._attach(ours)
        try:
            hello = await asyncio.wait_for(hello_future, 30)
        except BaseException:
            self._drop_socket()
            raise
        if self._sock is not ours:  # it said hello, then died before we resumed
            raise ZygoteLost("zygote exited as it started")
        self.prefix = str(hello["prefix"])
        self.version = str(hello["version"])
        self._generation += 1
        self._started_at = loop.time()
        self._confirmed = True

    def _attach(self, sock: socket.socket) -> asyncio.Future[dict[str, Any]]:
        """Talk to the zygote at the other end of ``sock`` from now on; its hello, to come."""
        sock.setblocking(False)
        self._sock = sock
        self._outbox.attach(sock)
        self._hello = hello = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        return hello

    def _seccomp_program(self) -> bytes | None:
        """The filter's BPF (built once per server process), or None when turned off.
        Raises ZygoteError when it cannot be built: no zygote starts, and every cold start
        fails, with the reason logged, rather than sandboxes running unfiltered."""
        if not self._seccomp:
            log.warning("sandboxes of %s run without a seccomp filter", self._python)
            return None
        try:
            return seccomp_filter.program()
        except seccomp_filter.SeccompUnavailable as exc:
            raise ZygoteError(f"no seccomp filter, so no sandboxes: {exc}") from exc

    async def _reap_old(self) -> None:
        """Wait for a dead zygote's process, so it leaves no zombie behind."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            await asyncio.to_thread(process.wait)

    def make_stem(self, stem_id: str, cgroup_procs: tuple[str, ...]) -> None:
        """Pre-fork a launcher that joins these cgroups and waits for a spawn."""
        message = {"op": "stem", "stem": stem_id, "cgroup_procs": list(cgroup_procs)}
        generation = self._generation if self.running else -1
        self._stems[stem_id] = (generation, cgroup_procs)
        self._send(json.dumps(message).encode())

    async def spawn(
        self,
        config: SandboxConfig,
        log_fd: int,
        stem: str | None = None,
        *,
        netns_fd: int | None = None,
        tmp_fd: int | None = None,
    ) -> int:
        """Fork a sandbox (from a pre-forked stem if given) into the network namespace and
        with the /tmp mount these fds hold, if given; returns the runtime's pid in the
        host's pid namespace. The caller's fds may be closed as soon as this is called."""
        # Copies of our own, before the first await (``fd_passing``).
        log_copy, netns_copy, tmp_copy = dup_each((log_fd, netns_fd, tmp_fd))
        owned = [fd for fd in (log_copy, netns_copy, tmp_copy) if fd is not None]
        assert log_copy is not None
        try:
            await self.ensure_running()
            if stem is not None:
                generation, procs = self._stems.pop(stem, (-1, ()))
                if generation != self._generation:
                    # Its launcher died with an earlier zygote: launch directly, joining the
                    # cgroups the stem would have been in.
                    stem = None
                    config = dataclasses.replace(config, cgroup_procs=procs or config.cgroup_procs)
            netns, tmp = netns_copy is not None, tmp_copy is not None
            config = dataclasses.replace(config, netns=netns, tmp_disk=tmp)
            # The configuration (the function's environment, secrets included) goes in a
            # memfd the zygote passes on unread; the message holds only what it acts on.
            config_fd = memfd_holding(config.to_json())
            owned.append(config_fd)
            fds = spawn_fds(log_copy, config_fd, netns_copy, tmp_copy)
            header = {
                "op": "spawn",
                "env": config.env_id,
                "stem": stem,
                "isolation": config.isolation,
            }
            future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

            def dropped(exc: OSError | None) -> None:  # queued, then never sent
                if not future.done():
                    future.set_exception(unreachable(exc))

            sending, owned = owned, []  # the queue closes them from here on, whatever happens
            try:
                queued = self._send(json.dumps(header).encode(), fds, sending, dropped)
            except OSError as exc:
                raise unreachable(exc) from exc
            self._spawns[config.env_id] = future
        finally:
            close_all(owned)
        try:
            return await future
        finally:
            self._spawns.pop(config.env_id, None)
            self._outbox.unqueue(queued)

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
            else:  # its cold start gave up meanwhile: nothing would ever release it
                pid = int(message["pid"])
                # Its exit report is ours to swallow: kept as an early exit, it would be
                # handed to whichever runtime gets this pid next (dead at once, -9).
                self.on_exit(pid, _ignore_exit)
                self.kill(pid)
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

    def _drop_socket(self) -> None:
        """Stop talking to the zygote. Cold starts waiting on it fail (ZygoteLost): with the
        socket gone nothing would ever answer them."""
        self._confirmed = False
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._outbox.attach(None)  # drops what is queued, and stops waiting to write
            self._sock.close()
            self._sock = None
        self._outbox.attach(None)
        for future in self._spawns.values():
            if not future.done():
                future.set_exception(ZygoteLost("zygote exited"))

    def _lost(self) -> None:
        """The zygote died: every sandbox it reaped for us is as good as gone (in process
        isolation they die with it: PR_SET_PDEATHSIG; in namespaces their cgroup is killed
        when the host releases them). Then start a new one."""
        was_running = self.running
        self._drop_socket()  # fails the cold starts waiting on it
        if self._hello is not None and not self._hello.done():
            self._hello.set_exception(ZygoteLost("zygote failed to start"))
        self._early_exits.clear()
        listeners, self._exit_listeners = self._exit_listeners, {}
        for callback in listeners.values():
            callback(-9)
        if not was_running or self._closed:
            return
        lived = asyncio.get_running_loop().time() - self._started_at
        self._failures = 0 if lived >= STABLE_AFTER_S else self._failures + 1
        self.restarts += 1
        log.error("zygote %s exited; its environments are lost; restarting it", self._python)
        if self._starting is None or self._starting.done():
            self._starting = asyncio.ensure_future(self._supervise(first_delay=True))

    async def close(self) -> None:
        self._closed = True
        # Cold starts waiting for a (re)start give up now, not after the spawn wait.
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
            with contextlib.suppress(BaseException):
                await self._starting
        if self._sock is not None:
            self._drop_socket()  # EOF: the zygote kills its children and exits
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
