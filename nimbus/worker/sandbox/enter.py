"""Entering a sandbox: the code a freshly forked child runs before the function's code.

Standard library only (it runs in the zygote). The guarantees of each isolation level:

``namespaces`` (root only)
    The runtime is PID 1 of a new pid namespace and has new mount, ipc and uts namespaces, so
    it sees only its own processes (a fresh /proc) and cannot signal anyone else's. Its
    filesystem is a private root: a read-only tmpfs holding read-only bind mounts of the
    system directories (/usr, /etc), the interpreter, the code at /var/task and the layers at
    /opt, and a private writable /tmp (its own ext4 of EphemeralStorage MB on a loop device,
    a limit apart from memory as on AWS: ``sandbox.ephemeral``; a tmpfs where that is
    unavailable); other functions' code and the host's data directory are not visible. It
    runs as an unprivileged uid of its own with no supplementary groups and
    ``no_new_privs``, inside a cgroup with memory = the function's MemorySize (the kernel
    OOM-kills it beyond that), a pids limit (a fork bomb starves only itself) and, after
    Init, CPU proportional to memory (1,769 MB = one vCPU, as AWS: weights by default, a
    hard quota with NIMBUS_CPU_LIMIT=quota). It joins the network namespace the host
    prepared for it (passed as an fd with the spawn request: ``SandboxConfig.netns``), or
    shares the host's. In its own network namespace its Runtime API (127.0.0.1:9001 there)
    is unreachable from anywhere else; on the host's network a peer-uid check protects it.

``process`` (any user; development)
    A plain child process in its own session (process group), working directory = the code
    directory, an address-space rlimit for Python runtimes. It runs as the host's user and
    can see and signal the host's other processes: no isolation between functions or from
    the host.

Both levels: RLIMIT_NOFILE 1,024 (soft and hard, AWS's limit) and no core dumps, a fresh
session keyring, ``no_new_privs``, and last of all the seccomp filter of
``seccomp_filter`` (kept across execve, so Node.js and custom runtimes run under it too).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import resource
import stat

from nimbus.worker.sandbox.config import SandboxConfig

CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
KEYCTL_JOIN_SESSION_KEYRING = 1
# keyctl has no libc wrapper outside libkeyutils: its syscall number, per architecture.
_KEYCTL_NR = {"x86_64": 250, "aarch64": 219}
AWS_NOFILE = 1024  # Lambda's file-descriptor quota, soft and hard
SYS_MOVE_MOUNT = 429  # the same on every architecture (asm-generic syscall table)
MOVE_MOUNT_F_EMPTY_PATH = 4
AT_FDCWD = -100

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

    def warm(self) -> None:
        """Resolve the functions sandboxes call, once in the zygote: ctypes looks a symbol
        up (dlsym) on first use and caches it on the library object, which forks then
        inherit; each child would otherwise pay it again (~0.2 ms for setns alone)."""
        for name in ("unshare", "mount", "sethostname", "prctl", "setns", "syscall"):
            getattr(self._lib, name)

    def parent_death_signal(self, signum: int) -> None:
        self._check(self._lib.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0), "prctl")

    def setns(self, fd: int, nstype: int) -> None:
        self._check(self._lib.setns(fd, nstype), "setns")

    def move_mount(self, from_fd: int, target: str) -> None:
        """Attach the detached mount ``from_fd`` holds at ``target`` (move_mount(2), Linux
        5.2; no libc wrapper before glibc 2.36, hence syscall())."""
        result = self._lib.syscall(
            ctypes.c_long(SYS_MOVE_MOUNT),
            ctypes.c_long(from_fd),
            b"",
            ctypes.c_long(AT_FDCWD),
            target.encode(),
            ctypes.c_long(MOVE_MOUNT_F_EMPTY_PATH),
        )
        self._check(result, f"move_mount {target}")

    def join_session_keyring(self) -> None:
        number = _KEYCTL_NR.get(platform.machine())
        if number is None:
            return
        result = self._lib.syscall(
            ctypes.c_long(number), ctypes.c_long(KEYCTL_JOIN_SESSION_KEYRING), None
        )
        # No keys in this kernel, or the uid's key quota is full: then there is no keyring
        # to share either way, and seccomp denies the keyring calls regardless.
        if result < 0 and ctypes.get_errno() not in (errno.ENOSYS, errno.EDQUOT):
            self._check(result, "keyctl(JOIN_SESSION_KEYRING)")

    def set_seccomp(self, program: ctypes.Structure) -> None:
        self._check(
            self._lib.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), None, None),
            "prctl(PR_SET_SECCOMP)",
        )


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


def join_netns(fd: int) -> None:
    """Join the network namespace ``fd`` refers to: the host's own descriptor of it, passed
    with the spawn request (SCM_RIGHTS), never a path naming the host's fd by number, which
    could name another sandbox's namespace by the time a late launcher opens it. Runs in the
    launcher, as root, before the other namespaces are made: the runtime then inherits it,
    and setns needs CAP_SYS_ADMIN, which the runtime never has."""
    libc().setns(fd, CLONE_NEWNET)


def unshare_namespaces() -> None:
    """New pid (applies to the next child), mount, ipc and uts namespaces."""
    libc().unshare(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS)


def _file_in_root(root: str, target: str) -> str | None:
    """Where a file bound at ``target`` inside ``root`` goes, made if missing; None when it
    cannot be, said on stderr (the function's log by now: ``redirect_stdio``), since the
    sandbox then runs without it (no resolver, for /etc/resolv.conf). A target that is a
    symlink (/etc/resolv.conf -> /run/systemd/resolve/..., seen through the bind of the
    host's /etc) is followed inside the root, by hand: mount() would follow an absolute
    link on the host's side of the root."""
    path, why = target, "a loop of symlinks"
    try:
        for _ in range(8):  # bounded: a loop of links ends here
            inside = root + path
            if not os.path.islink(inside):
                parent = os.path.realpath(os.path.dirname(inside))
                why = f"{path} leads out of the sandbox's root"
                if parent.startswith(os.path.realpath(root) + "/"):
                    os.makedirs(os.path.dirname(inside), exist_ok=True)
                    if not os.path.exists(inside):
                        os.close(os.open(inside, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))
                    return inside
                break
            link = os.readlink(inside)
            path = os.path.normpath(
                link if link.startswith("/") else f"{os.path.dirname(path)}/{link}"
            )
    except OSError as exc:  # in a read-only bind (/etc, /usr) without that file
        why = f"{path}: {exc.strerror}"
    with contextlib.suppress(OSError):  # no log to tell: the sandbox runs on regardless
        os.write(2, f"[nimbus] {target} is not provided in the sandbox ({why})\n".encode())
    return None


def build_root(config: SandboxConfig, tmp_fd: int = -1) -> None:
    """Mount the private root and chroot into it; /tmp is the detached mount ``tmp_fd``
    holds, or a tmpfs when it is -1. Runs as PID 1 of the new pid namespace (a proc mount
    shows the pid namespace of the process that mounts it)."""
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
        if os.path.isdir(source):
            inside = root + target
            os.makedirs(inside, exist_ok=True)
        else:  # a file (the resolv.conf of sandbox.network) over one of the root's
            found = _file_in_root(root, target)
            if found is None:
                continue
            inside = found
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
    if tmp_fd >= 0:
        attach_tmp(tmp_fd, f"{root}/tmp")
    else:
        options = f"size={config.tmp_mb}m,mode=1777"
        lib.mount("tmpfs", f"{root}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, options)
    lib.mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # The root itself is read-only, as on Lambda: only /tmp is writable.
    lib.mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID)
    os.chroot(root)
    lib.sethostname(config.hostname)


def attach_tmp(fd: int, target: str) -> None:
    """Put the ext4 /tmp the host prepared (``sandbox.ephemeral``) at ``target``. The host
    holds it as a detached mount and passes its descriptor with the spawn request
    (SCM_RIGHTS: this sandbox's own reference, so no later fd of the host's can be
    attached instead); move_mount() attaches it to this mount namespace: ~0.1 ms, where
    mounting the ext4 here would cost ~1.3 ms. Failing is fatal: falling back to a tmpfs
    would charge /tmp to memory."""
    libc().move_mount(fd, target)


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
    """Process isolation: with the filter, all that stands between a function and the
    machine."""
    prefer_for_oom_kill()
    if config.argv is None:
        # Only for the Python client: V8 (Node) reserves far more address space than it uses.
        limit = (config.memory_mb + 64) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def limit_descriptors_and_cores() -> None:
    """Both levels. Without RLIMIT_NOFILE a function inherits the server's (tens of
    thousands) and can hold enough loopback connections to starve the server (issue 11,
    leak 6); AWS gives 1,024. No core dumps: a crash must not write the function's memory
    (its secrets) anywhere."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (AWS_NOFILE, AWS_NOFILE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def join_session_keyring() -> None:
    """A new, empty session keyring for this environment (keyctl JOIN_SESSION_KEYRING with no
    name): keys are per uid and uids are reused, so an inherited session keyring could hold an
    earlier tenant's keys. The seccomp filter then denies every keyring call."""
    libc().join_session_keyring()


class _SockFprog(ctypes.Structure):
    # struct sock_fprog (linux/filter.h): the program length in instructions, and a pointer.
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


class SeccompProgram:
    """A classic-BPF seccomp program (exported by libseccomp in the host), prepared once in
    the zygote so that a child's install is one prctl."""

    def __init__(self, program: bytes) -> None:
        if not program or len(program) % 8:
            raise SandboxError(f"not a BPF program ({len(program)} bytes)")
        self.instructions = len(program) // 8  # struct sock_filter is 8 bytes
        self._buffer = ctypes.create_string_buffer(program, len(program))
        self._fprog = _SockFprog(self.instructions, ctypes.addressof(self._buffer))

    def install(self) -> None:
        """Install it in this process, for good: kept across fork and execve, and (with
        ``no_new_privs``, which an unprivileged process needs to install one) never
        loosened by a setuid binary."""
        libc().no_new_privs()
        libc().set_seccomp(self._fprog)


def close_fds_except(keep: set[int]) -> None:
    """Close every descriptor from 3 up but ``keep``: the zygote's socket and pipes stay out
    of a sandbox's reach."""
    low = 3
    for fd in sorted(fd for fd in keep if fd >= 3):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 65536)


def finish(config: SandboxConfig) -> None:
    """Common last steps: working directory and environment."""
    os.chdir(config.workdir)
    os.environ.clear()
    os.environ.update(config.environ)
