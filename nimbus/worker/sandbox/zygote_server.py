"""The zygote: a fork server with the Python runtime client already imported.

Lives with the sandbox code it runs (``enter``, ``config``), so the dependency is one way:
the worker imports the runtimes, never the reverse. Launched by ``zygote.ZygoteClient`` by
module path, with the directory holding the ``nimbus`` package put first on ``sys.path``.

Started once per host as ``python -I -S`` (no site, no user paths). The host sends one JSON
message per request over a SOCK_SEQPACKET socket (fd given in argv); a ``spawn`` carries the
environment's log pipe as an SCM_RIGHTS fd. For each spawn the zygote forks; in
``namespaces`` mode the child unshares and forks again so the runtime is PID 1 of its own pid
namespace (CLONE_NEWPID applies to children only), and tells the zygote that grandchild's pid
through a pipe. The zygote is a child subreaper, so it reaps every runtime and reports each
exit status to the host at once: the host learns of crashes and OOM kills promptly.
Kills go through the zygote, the only process that can never signal a recycled pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import socket
import sys
import traceback
from typing import Any

# Pre-imported so that forked children start with them loaded (the point of the zygote).
from nimbus.runtimes.python import bootstrap
from nimbus.worker.sandbox import enter
from nimbus.worker.sandbox.config import NAMESPACES, SandboxConfig

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
MAX_MESSAGE = 1 << 20


class Zygote:
    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._pid = os.getpid()
        self._live: set[int] = set()  # runtimes not yet reaped (pids in our pid namespace)
        self._launchers: set[int] = set()  # intermediate namespace-mode children
        self._stems: dict[str, socket.socket] = {}  # launchers waiting, already in a cgroup
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        os.set_blocking(self._wake_r, False)

    def send(self, message: dict[str, Any]) -> None:
        self._sock.send(json.dumps(message).encode())

    def serve(self) -> None:
        signal.set_wakeup_fd(self._wake_w)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.send(
            {
                "op": "hello",
                "prefix": sys.base_prefix,
                "pid": os.getpid(),
                "version": f"{sys.version_info.major}.{sys.version_info.minor}",
            }
        )
        while True:
            try:
                readable, _, _ = select.select([self._sock.fileno(), self._wake_r], [], [])
            except InterruptedError:
                continue
            if self._wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
                self._reap()
            if self._sock.fileno() in readable:
                data, fds, _, _ = socket.recv_fds(self._sock, MAX_MESSAGE, 4)
                if not data:
                    self._shutdown()
                    return
                self._handle(json.loads(data), fds)

    def _handle(self, message: dict[str, Any], fds: list[int]) -> None:
        op = message["op"]
        if op == "spawn":
            config = SandboxConfig.from_json(message["config"].encode())
            try:
                pid = self._spawn(config, fds[0], message.get("stem"))
            except Exception as exc:
                self.send({"op": "failed", "env": config.env_id, "error": repr(exc)})
            else:
                self._live.add(pid)
                self.send({"op": "spawned", "env": config.env_id, "pid": pid})
            finally:
                for fd in fds:
                    os.close(fd)
        elif op == "stem":
            self._make_stem(str(message["stem"]), tuple(message["cgroup_procs"]))
        elif op == "kill":
            pid = int(message["pid"])
            if pid in self._live:  # never signal a pid we have already reaped
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self._launchers:
                self._launchers.discard(pid)
            elif pid in self._live:
                self._live.discard(pid)
                self.send({"op": "exit", "pid": pid, "status": os.waitstatus_to_exitcode(status)})

    def _make_stem(self, stem_id: str, cgroup_procs: tuple[str, ...]) -> None:
        """Fork a launcher that joins its cgroups now, off the cold-start path: on cgroup v1
        the first migration after a quiet period waits for an RCU grace period (~12 ms)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                ours.close()
                keep = theirs.fileno()
                os.closerange(3, keep)
                os.closerange(keep + 1, 65536)
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                enter.join_cgroups(cgroup_procs)
                data, fds, _, _ = socket.recv_fds(theirs, MAX_MESSAGE, 4)
                if data:
                    self._launch(SandboxConfig.from_json(data), fds[0], theirs.fileno())
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self._launchers.add(pid)
        self._stems[stem_id] = ours

    def _launch(self, config: SandboxConfig, log_fd: int, report_fd: int) -> None:
        """In a launcher: new namespaces, then fork the runtime (PID 1 there) and report its
        pid as the host sees it."""
        enter.unshare_namespaces()
        runtime = os.fork()
        if runtime == 0:
            self._child(config, log_fd, namespaces=True)
        os.write(report_fd, str(runtime).encode())

    def _spawn(self, config: SandboxConfig, log_fd: int, stem_id: str | None) -> int:
        if config.isolation != NAMESPACES:
            pid = os.fork()
            if pid == 0:
                self._child(config, log_fd, namespaces=False)
            return pid
        stem = self._stems.pop(stem_id, None) if stem_id else None
        if stem is not None:
            with stem:
                socket.send_fds(stem, [config.to_json()], [log_fd])
                raw = stem.recv(32)
        else:
            raw = self._launch_directly(config, log_fd)
        if not raw:
            raise RuntimeError("sandbox launcher failed (unshare/fork)")
        return int(raw)

    def _launch_directly(self, config: SandboxConfig, log_fd: int) -> bytes:
        read_end, write_end = os.pipe()
        launcher = os.fork()
        if launcher == 0:
            code = 0
            try:
                os.close(read_end)
                self._launch(config, log_fd, write_end)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        self._launchers.add(launcher)
        os.close(write_end)
        try:
            raw = b""
            while chunk := os.read(read_end, 32):
                raw += chunk
        finally:
            os.close(read_end)
        return raw

    def _child(self, config: SandboxConfig, log_fd: int, *, namespaces: bool) -> None:
        """In the forked child: enter the sandbox, then run the runtime. Never returns."""
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            enter.redirect_stdio(log_fd)
            os.closerange(3, 65536)  # the zygote's socket and pipes stay out of reach
            if namespaces:
                if config.cgroup_procs:
                    enter.join_cgroups(config.cgroup_procs)
                enter.build_root(config)
                enter.drop_privileges(config.uid, config.gid)
            else:
                os.setsid()
                # Die with the zygote: the host then reports this runtime killed, and a
                # restarted zygote must not find it still running outside any reaper.
                ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                if os.getppid() != self._pid:
                    os._exit(1)
                enter.apply_rlimits(config)
            enter.finish(config)
            if config.argv is not None:
                os.execve(config.argv[0], list(config.argv), os.environ)
            code = bootstrap.main(config.handler, config.sys_path, config.sys_path_tail)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
            code = 127 if config.argv is not None else 1
        finally:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)

    def _shutdown(self) -> None:
        for stem in self._stems.values():
            stem.close()  # EOF: the waiting launcher exits
        for pid in self._live | self._launchers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def main() -> None:
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    # Die with the host (PR_SET_PDEATHSIG): the host's death must not leave sandboxes behind.
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    enter.libc()
    # Load the resolver's NSS modules once here, not in every sandbox that resolves a name.
    with contextlib.suppress(OSError):
        socket.getaddrinfo("localhost", 0, socket.AF_INET, socket.SOCK_STREAM)
    sock = socket.socket(fileno=int(sys.argv[1]))
    Zygote(sock).serve()


if __name__ == "__main__":
    main()
