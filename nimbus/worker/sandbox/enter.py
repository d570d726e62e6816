"""Entering a sandbox: the code a freshly forked child runs before the function's code.

Standard library only (it runs in the zygote). The guarantees of each isolation level:

``namespaces`` (root only)
    The runtime is PID 1 of a new pid namespace and has new mount, ipc and uts namespaces, so
    it sees only its own processes (a fresh /proc) and cannot signal anyone else's. Its
    filesystem is a private root: a read-only tmpfs holding read-only bind mounts of the
    system directories (/usr, /etc), the interpreter, the code at /var/task and the layers at
    /opt, and a private writable /tmp (tmpfs sized to EphemeralStorage); other functions'
    code and the host's data directory are not visible. It runs as an unprivileged uid of its
    own with no supplementary groups and ``no_new_privs``, inside a cgroup with memory = the
    function's MemorySize (the kernel OOM-kills it beyond that), a pids limit (a fork bomb
    starves only itself) and, after Init, CPU proportional to memory (1,769 MB = one vCPU,
    as AWS: weights by default, a hard quota with NIMBUS_CPU_LIMIT=quota). The network
    namespace is shared: functions keep outbound network access, and the Runtime API
    endpoints are protected by a peer-uid check instead.

``process`` (any user; development)
    A plain child process in its own session (process group), working directory = the code
    directory, an address-space rlimit for Python runtimes and a core-size rlimit of zero. It
    runs as the host's user and can see and signal the host's other processes: no isolation
    between functions or from the host.
"""

from __future__ import annotations

import ctypes
import os
import resource
import stat

from nimbus.worker.sandbox.config import SandboxConfig

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

PR_SET_NO_NEW_PRIVS = 38

_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}


class SandboxError(Exception):
    pass


class _Libc:
    def __init__(self) -> None:
        self._lib = ctypes.CDLL(None, use_errno=True)

    def _check(self, result: int, what: str) -> None:
        if result != 0:
            errno = ctypes.get_errno()
            raise SandboxError(f"{what}: {os.strerror(errno)}")

    def unshare(self, flags: int) -> None:
        self._check(self._lib.unshare(flags), "unshare")

    def mount(
        self,
        source: str | None,
        target: str,
        fstype: str | None,
        flags: int,
        data: str | None = None,
    ) -> None:
        def enc(value: str | None) -> bytes | None:
            return None if value is None else value.encode()

        result = self._lib.mount(
            enc(source), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)
        )
        self._check(result, f"mount {target}")

    def sethostname(self, name: str) -> None:
        raw = name.encode()
        self._check(self._lib.sethostname(raw, len(raw)), "sethostname")

    def no_new_privs(self) -> None:
        self._check(self._lib.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl")


_libc: _Libc | None = None


def libc() -> _Libc:
    # Loaded on first use (in the zygote, before any fork) rather than at import time.
    global _libc
    if _libc is None:
        _libc = _Libc()
    return _libc


def redirect_stdio(log_fd: int) -> None:
    """stdout and stderr both go to the environment's log pipe (AWS merges them too)."""
    devnull = os.open("/dev/null", os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    if log_fd > 2:
        os.close(log_fd)


def join_cgroups(procs_files: tuple[str, ...]) -> None:
    for path in procs_files:
        # "0" means the writing process itself, in both cgroup v1 and v2.
        with open(path, "w") as handle:
            handle.write("0")


def unshare_namespaces() -> None:
    """New pid (applies to the next child), mount, ipc and uts namespaces."""
    libc().unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)


def build_root(config: SandboxConfig) -> None:
    """Mount the private root and chroot into it. Runs as PID 1 of the new pid namespace
    (a proc mount shows the pid namespace of the process that mounts it)."""
    lib = libc()
    root = config.root_dir
    # Nothing mounted here may propagate back to the host's mount namespace.
    lib.mount(None, "/", None, MS_REC | MS_PRIVATE)
    lib.mount("nimbus-root", root, "tmpfs", MS_NOSUID, "size=1m,mode=755")
    for name in os.listdir("/"):
        host_path = "/" + name
        if os.path.islink(host_path) and name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            os.symlink(os.readlink(host_path), f"{root}/{name}")
    for name in ("usr", "etc", "proc", "tmp", "dev", "opt", "var/task", "var/runtime"):
        os.makedirs(f"{root}/{name}", exist_ok=True)
    binds = [("/usr", "/usr"), ("/etc", "/etc")]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        host_path = "/" + name
        if os.path.isdir(host_path) and not os.path.islink(host_path):
            os.makedirs(root + host_path, exist_ok=True)
            binds.append((host_path, host_path))
    binds += [(b.source, b.target) for b in config.binds]
    for source, target in binds:
        inside = root + target
        os.makedirs(inside, exist_ok=True)
        lib.mount(source, inside, None, MS_BIND | MS_REC)
        lib.mount(None, inside, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for name, (major, minor) in _DEVICES.items():
        os.mknod(f"{root}/dev/{name}", stat.S_IFCHR | 0o666, os.makedev(major, minor))
        os.chmod(f"{root}/dev/{name}", 0o666)
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{root}/dev/{name}")
    lib.mount(
        "tmpfs", f"{root}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={config.tmp_mb}m,mode=1777"
    )
    lib.mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # The root itself is read-only, as on Lambda: only /tmp is writable.
    lib.mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    os.chroot(root)
    lib.sethostname(config.hostname)


def prefer_for_oom_kill() -> None:
    """If the machine itself runs out of memory, the kernel should kill a function, never the
    server: placement books environments at their MemorySize with overcommit, so this is the
    backstop. Raising one's own score needs no privilege; it is inherited by children."""
    with open("/proc/self/oom_score_adj", "w") as handle:
        handle.write("1000")


def drop_privileges(uid: int, gid: int) -> None:
    prefer_for_oom_kill()
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    libc().no_new_privs()


def apply_rlimits(config: SandboxConfig) -> None:
    """Process isolation: all that stands between a function and the machine."""
    prefer_for_oom_kill()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if config.argv is None:
        # Only for the Python client: V8 (Node) reserves far more address space than it uses.
        limit = (config.memory_mb + 64) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def finish(config: SandboxConfig) -> None:
    """Common last steps: working directory and environment."""
    os.chdir(config.workdir)
    os.environ.clear()
    os.environ.update(config.environ)
