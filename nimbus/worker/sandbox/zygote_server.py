"""The zygote: a fork server with the Python runtime client already imported.

Lives with the sandbox code it runs (``enter``, ``config``), so the dependency is one way:
the worker imports the runtimes, never the reverse. Launched by ``zygote.ZygoteClient`` by
module path, with the directory holding the ``nimbus`` package put first on ``sys.path``.

Started once per host as ``python -I -S`` (no site, no user paths). The host sends one JSON
message per request over a SOCK_SEQPACKET socket (fd given in argv); a ``spawn`` carries the
environment's log pipe and a memfd holding its ``SandboxConfig`` as SCM_RIGHTS fds (then,
in namespaces mode, its network namespace and its /tmp mount: ``config.spawn_fds``), and in
the message itself only what is not secret (env id, stem, isolation). The zygote never reads
the memfd: the configuration holds the function's environment, and anything the long-lived
zygote ever parsed stays in its freed heap, inherited by every later fork (issue 11, leak
1: a later function found an earlier one's password in its own memory). Only the forked
child, or its short-lived launcher, reads it.

For each spawn the zygote forks; in ``namespaces`` mode the child (the launcher) unshares and
forks again so the runtime is PID 1 of its own pid namespace (CLONE_NEWPID applies to
children only), and tells the zygote that grandchild's pid through a pipe. The zygote is a
child subreaper, so it reaps every runtime and reports each exit status to the host at once:
the host learns of crashes and OOM kills promptly. Kills go through the zygote, the only
process that can never signal a recycled pid.

No sandbox outlives the zygote, which dies with the host (PR_SET_PDEATHSIG). Process-mode
children have the same signal to the zygote. A namespaces runtime arms it once the launcher
has exited and it has been reparented to the zygote (armed earlier, the launcher's own exit
would fire it); it then checks the zygote is still alive, so a zygote dying in between is
noticed too. Its pid namespace dies with it.

The seccomp program (``seccomp_filter``, built by the host) arrives as a third argument, an
fd to read once; each sandbox installs it as its very last step.
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
from nimbus.worker.sandbox.config import MAX_SPAWN_FDS, NAMESPACES, SandboxConfig

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
MAX_MESSAGE = 1 << 16  # requests are headers only: the configuration comes as a memfd
# How long a runtime waits for its launcher to exit before giving up (the launcher exits
# right after reporting the runtime's pid, so this is only hit when something is wrong).
LAUNCHER_EXIT_WAIT_MS = 5000


def pidfd_of_self() -> int:
    """A pidfd of this process (readable once it has exited), or -1 where the kernel has no
    pidfds (before 5.3) or Python lacks os.pidfd_open."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return -1
    try:
        return int(opener(os.getpid()))
    except OSError:
        return -1


def exited(pidfd: int, timeout_ms: int = 0) -> bool:
    """Whether the process behind ``pidfd`` has exited (waiting up to ``timeout_ms``)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(timeout_ms))


class Zygote:
    def __init__(self, sock: socket.socket, seccomp: enter.SeccompProgram | None) -> None:
        self._sock = sock
        self._pid = os.getpid()
        self._seccomp = seccomp
        # Inherited by every sandbox: readable once the zygote is gone (see _die_with_us).
        self._pidfd = pidfd_of_self()
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
                data, fds, _, _ = socket.recv_fds(self._sock, MAX_MESSAGE, MAX_SPAWN_FDS)
                if not data:
                    self._shutdown()
                    return
                try:
                    self._handle(json.loads(data), fds)
                except Exception:  # a malformed request must not take every sandbox down
                    traceback.print_exc()
                finally:
                    for fd in fds:
                        with contextlib.suppress(OSError):
                            os.close(fd)

    def _handle(self, message: dict[str, Any], fds: list[int]) -> None:
        op = message["op"]
        if op == "spawn":
            env_id = str(message["env"])
            try:
                if not 2 <= len(fds) <= MAX_SPAWN_FDS:
                    raise RuntimeError(f"spawn needs a log and a config fd, got {len(fds)}")
                pid = self._spawn(message, fds)
            except Exception as exc:
                self.send({"op": "failed", "env": env_id, "error": repr(exc)})
            else:
                self._live.add(pid)
                self.send({"op": "spawned", "env": env_id, "pid": pid})
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
                enter.close_fds_except({theirs.fileno(), self._pidfd})
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                enter.join_cgroups(cgroup_procs)
                data, fds, _, _ = socket.recv_fds(theirs, MAX_MESSAGE, MAX_SPAWN_FDS)
                if data and len(fds) >= 2:
                    self._launch(fds, theirs.fileno())
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        theirs.close()
        self._launchers.add(pid)
        self._stems[stem_id] = ours

    def _launch(self, fds: list[int], report_fd: int) -> None:
        """In a launcher (discarded once the runtime runs): read the configuration, join the
        prepared network namespace, make new namespaces, then fork the runtime (PID 1 there)
        and report its pid as the host sees it. ``fds``: log, config, then the namespace
        and /tmp mount the configuration says come with it."""
        log_fd, config_fd, *extra = fds
        config = SandboxConfig.from_fd(config_fd)
        os.close(config_fd)
        netns_fd, tmp_fd = config.passed_fds(extra)
        if netns_fd >= 0:
            enter.join_netns(netns_fd)  # first, as root; the runtime inherits it
            os.close(netns_fd)
        enter.unshare_namespaces()
        launcher = pidfd_of_self()  # the runtime waits on it for this launcher's exit
        runtime = os.fork()
        if runtime == 0:
            self._child(config, log_fd, namespaces=True, launcher=launcher, tmp_fd=tmp_fd)
        os.write(report_fd, str(runtime).encode())

    def _spawn(self, header: dict[str, Any], fds: list[int]) -> int:
        """Fork what ``header`` asks for, handing ``fds`` on unread (the caller closes the
        zygote's copies)."""
        if header["isolation"] != NAMESPACES:
            pid = os.fork()
            if pid == 0:
                self._child_of_zygote(fds)
            return pid
        stem_id = header.get("stem")
        stem = self._stems.pop(str(stem_id), None) if stem_id else None
        if stem is not None:
            with stem:
                socket.send_fds(stem, [b"spawn"], fds)
                raw = stem.recv(32)
        else:
            raw = self._launch_directly(fds)
        if not raw:
            raise RuntimeError("sandbox launcher failed (unshare/fork)")
        return int(raw)

    def _child_of_zygote(self, fds: list[int]) -> None:
        """A process-mode child: read its configuration (only here, after the fork)."""
        log_fd, config_fd, *extra = fds
        try:
            config = SandboxConfig.from_fd(config_fd)
            os.close(config_fd)
            config.passed_fds(extra)  # none: process isolation has no namespace or disk
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        self._child(config, log_fd, namespaces=False)

    def _launch_directly(self, fds: list[int]) -> bytes:
        read_end, write_end = os.pipe()
        launcher = os.fork()
        if launcher == 0:
            code = 0
            try:
                os.close(read_end)
                self._launch(fds, write_end)
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

    def _child(
        self,
        config: SandboxConfig,
        log_fd: int,
        *,
        namespaces: bool,
        launcher: int = -1,
        tmp_fd: int = -1,
    ) -> None:
        """In the forked child: enter the sandbox, then run the runtime. Never returns.
        ``tmp_fd``: the detached mount to attach at /tmp (-1: a tmpfs)."""
        code = 1
        try:
            signal.set_wakeup_fd(-1)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            enter.redirect_stdio(log_fd)
            # The zygote's socket and pipes stay out of reach.
            enter.close_fds_except({self._pidfd, launcher, tmp_fd})
            if namespaces:
                if config.cgroup_procs:
                    enter.join_cgroups(config.cgroup_procs)
                enter.build_root(config, tmp_fd)
                if tmp_fd >= 0:
                    os.close(tmp_fd)  # attached: the mount no longer needs the fd
                enter.drop_privileges(config.uid, config.gid)
            else:
                os.setsid()
                # Die with the zygote: the host then reports this runtime killed, and a
                # restarted zygote must not find it still running outside any reaper.
                ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
                if os.getppid() != self._pid:
                    os._exit(1)
                enter.apply_rlimits(config)
            enter.limit_descriptors_and_cores()
            enter.join_session_keyring()
            enter.finish(config)
            if namespaces:
                self._die_with_us(launcher)
            for fd in (self._pidfd, launcher):
                if fd >= 0:
                    os.close(fd)
            if self._seccomp is not None:
                self._seccomp.install()  # last: from here on, only the function's code runs
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

    def _die_with_us(self, launcher: int) -> None:
        """In a namespaces runtime: arm PR_SET_PDEATHSIG to the zygote. The signal fires when
        the *current* parent dies, and a parent's death fires it too, so it is armed only
        once the launcher has exited, which reparents this runtime to the zygote (its
        subreaper): the launcher's pidfd turns readable after its children are reparented
        (kernel/exit.c, exit_notify). Then, if the zygote died in between, the signal would
        never come: its pidfd tells, and the runtime exits itself. Without pidfds (kernel <
        5.3) the runtime has no parent-death signal; the host kills leftover cgroups when
        it starts."""
        if launcher < 0 or self._pidfd < 0:
            return
        if not exited(launcher, LAUNCHER_EXIT_WAIT_MS):
            raise enter.SandboxError("the sandbox launcher did not exit")
        enter.libc().parent_death_signal(signal.SIGKILL)
        if exited(self._pidfd):
            os._exit(1)

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
    enter.libc().warm()
    # Load the resolver's NSS modules once here, not in every sandbox that resolves a name.
    with contextlib.suppress(OSError):
        socket.getaddrinfo("localhost", 0, socket.AF_INET, socket.SOCK_STREAM)
    sock = socket.socket(fileno=int(sys.argv[1]))
    Zygote(sock, read_seccomp(sys.argv[3] if len(sys.argv) > 3 else "-")).serve()


def read_seccomp(arg: str) -> enter.SeccompProgram | None:
    """The seccomp program from the fd in ``arg``; "-" means the host chose to run sandboxes
    unfiltered, which is said loudly (the host refuses to by default)."""
    if arg == "-":
        print("nimbus zygote: sandboxes run WITHOUT a seccomp filter", file=sys.stderr)
        return None
    fd = int(arg)
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return enter.SeccompProgram(b"".join(chunks))


if __name__ == "__main__":
    main()
