"""The seccomp filter every sandbox runs under: a deny-list of system calls a function never
needs, each answered EPERM (clone3: ENOSYS), everything else allowed.

Built once per server process with libseccomp (the ``pyseccomp`` binding) and exported as a
classic-BPF program; the zygotes, standard library only and sometimes other interpreters,
receive those bytes at start and each sandbox installs them with one prctl as its very last
step (``enter.SeccompProgram``). The list follows Docker's default profile (moby
``profiles/seccomp/default.json``), which blocks the same calls for containers without
capabilities; the reason for each group is beside it. libseccomp's own checks come with it:
a system call of another ABI (i386 ``int 0x80``, x32 on x86_64) kills the process, so the
rules cannot be sidestepped through a second syscall table.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass

MASKED_EQ = "masked_eq"  # (arg & mask) == value
GT = "gt"  # arg > value


@dataclass(frozen=True)
class ArgTest:
    index: int
    op: str  # MASKED_EQ | GT
    value: int
    mask: int = 0


@dataclass(frozen=True)
class Rule:
    syscall: str
    errno: int = errno.EPERM
    arg: ArgTest | None = None  # None: every call


# (why, system calls), each denied outright with EPERM.
DENIED: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        # Mount tables are per namespace but a mount can still expose or shadow files; a
        # sandbox's root is built before the filter and never changes after.
        "filesystem layout",
        ("mount", "umount2", "pivot_root", "chroot", "swapon", "swapoff", "quotactl"),
    ),
    (
        # The new mount API (Linux 5.2+) does what mount does, one step at a time: denying
        # mount alone would leave fsopen/fsmount/move_mount as a way around it. The sandbox's
        # launcher attaches its /tmp with move_mount before the filter is installed.
        "new mount API",
        (
            "fsopen",
            "fsconfig",
            "fsmount",
            "fspick",
            "move_mount",
            "open_tree",
            "mount_setattr",
            "quotactl_fd",
        ),
    ),
    (
        # New namespaces (user namespaces above all) reach kernel code that is otherwise
        # root-only: most container escapes of recent years started there (CVE-2022-0185,
        # CVE-2023-32233, CVE-2024-1086). clone with a CLONE_NEW* flag: below.
        "namespaces",
        ("unshare", "setns"),
    ),
    (
        # Reading or writing another process's memory; the uid and pid namespace walls already
        # stand in the way, this removes the interface (Docker: ptrace before kernel 4.8 could
        # bypass seccomp itself).
        "other processes' memory",
        ("ptrace", "process_vm_readv", "process_vm_writev"),
    ),
    (
        # Docker allows these only with CAP_SYS_PTRACE: kcmp compares another process's
        # kernel objects (a probe of its fds and memory layout), pidfd_getfd copies another
        # process's fd, process_madvise acts on another process's memory.
        "other processes' descriptors and memory advice",
        ("kcmp", "pidfd_getfd", "process_madvise"),
    ),
    (
        # NUMA placement moves pages between the machine's memory nodes, for this process
        # or (move_pages, migrate_pages) others: the machine's memory is not the function's
        # to arrange (Docker: CAP_SYS_NICE only). get_mempolicy, a read, stays allowed.
        "NUMA memory placement",
        ("mbind", "set_mempolicy", "move_pages", "migrate_pages"),
    ),
    (
        # Obsolete calls no runtime uses, each a piece of old, little-tested kernel code
        # (Docker denies them all): a.out libraries, filesystem statistics by device,
        # filesystem type tables, binary sysctl, the removed NFS server interface.
        "obsolete interfaces",
        ("uselib", "ustat", "sysfs", "_sysctl", "nfsservctl"),
    ),
    (
        # Loading code into the kernel, or replacing it.
        "kernel code",
        ("kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "bpf"),
    ),
    (
        # The kernel keyring is not namespaced and keys belong to uids, which are reused
        # between environments (issue 11, leak 3).
        "kernel keyring",
        ("keyctl", "add_key", "request_key"),
    ),
    (
        # Performance counters leak other tenants' activity and are a rich source of kernel
        # bugs (Docker denies perf_event_open).
        "performance counters",
        ("perf_event_open", "lookup_dcookie"),
    ),
    (
        # The clock and the kernel log are the machine's, not the function's.
        "machine state",
        (
            "settimeofday",
            "clock_settime",
            "clock_adjtime",
            "adjtimex",
            "syslog",
            "reboot",
            "acct",
            "vhangup",
            "iopl",
            "ioperm",
        ),
    ),
    (
        # open_by_handle_at escaped Docker's chroot in 2014 ("shocker"); fanotify watches the
        # whole mount.
        "file handles",
        ("open_by_handle_at", "name_to_handle_at", "fanotify_init"),
    ),
    (
        # userfaultfd stretches kernel race windows for exploits; io_uring has had a stream
        # of privilege escalations (CVE-2022-29582, CVE-2023-2598) and Docker and Google
        # disable it. libuv (Node.js) falls back to threads when io_uring_setup fails.
        "exploit primitives",
        ("userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register"),
    ),
)

# clone(2)'s flags that make namespaces (linux/sched.h). CLONE_NEWTIME (0x80) is left out:
# in clone(2) those bits are the exit signal, and it is only honoured by clone3 and unshare.
CLONE_NEW_FLAGS = {
    "CLONE_NEWNS": 0x00020000,
    "CLONE_NEWCGROUP": 0x02000000,
    "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000,
    "CLONE_NEWUSER": 0x10000000,
    "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}

# personality(2) values Docker allows: PER_LINUX, PER_LINUX32, UNAME26 and their union, and
# 0xffffffff (a query). Anything else sets flags such as ADDR_NO_RANDOMIZE (no ASLR) or
# READ_IMPLIES_EXEC.
PERSONALITY_ALLOWED = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)


def clone_flags_arg() -> int:
    """clone(2)'s flags are its first argument everywhere but s390, where they are the
    second."""
    return 1 if platform.machine().startswith("s390") else 0


def clone_rules(flags_arg: int = 0) -> tuple[Rule, ...]:
    # One rule per flag (a rule may test an argument once): any of them set is denied.
    namespace_rules = tuple(
        Rule("clone", arg=ArgTest(flags_arg, MASKED_EQ, flag, flag))
        for flag in CLONE_NEW_FLAGS.values()
    )
    # clone3 passes its flags in a struct seccomp cannot read: ENOSYS makes glibc fall back
    # to clone (as Docker does), where the rules above apply.
    return (*namespace_rules, Rule("clone3", errno=errno.ENOSYS))


def personality_rules() -> tuple[Rule, ...]:
    """Deny every personality outside ``PERSONALITY_ALLOWED`` with rules of one comparison
    each (libseccomp's limit), ORed: above 32 bits; bit 31 clear with any bit but 3 and 17
    set; bit 31 set with any lower bit clear (all ones is the query)."""
    top = 1 << 31
    rules = [Rule("personality", arg=ArgTest(0, GT, 0xFFFFFFFF))]
    for bit in range(31):
        if bit not in (3, 17):
            rules.append(Rule("personality", arg=ArgTest(0, MASKED_EQ, 1 << bit, top | 1 << bit)))
    for bit in range(31):
        rules.append(Rule("personality", arg=ArgTest(0, MASKED_EQ, top, top | 1 << bit)))
    return tuple(rules)


def rules(flags_arg: int = 0) -> tuple[Rule, ...]:
    """Every rule of the filter (pure)."""
    plain = tuple(Rule(name) for _, names in DENIED for name in names)
    return (*plain, *clone_rules(flags_arg), *personality_rules())


def matches(test: ArgTest, args: tuple[int, ...]) -> bool:
    value = args[test.index] if test.index < len(args) else 0
    if test.op == MASKED_EQ:
        return value & test.mask == test.value
    if test.op == GT:
        return value > test.value
    raise ValueError(f"unknown comparison {test.op!r}")


def decide(all_rules: Iterable[Rule], syscall: str, args: tuple[int, ...] = ()) -> int:
    """The errno the rules answer ``syscall(*args)`` with, 0 when it is allowed (pure: the
    meaning of the rules, which the unit tests check against the kernel's verdict)."""
    for rule in all_rules:
        if rule.syscall == syscall and (rule.arg is None or matches(rule.arg, args)):
            return rule.errno
    return 0


# Calls newer than some libseccomp releases still in distributions (2.5.1 knows neither
# mount_setattr nor quotactl_fd): from Linux 5.1 on, every architecture but alpha, mips and
# x32 numbers new calls alike (asm-generic), so on these machines the number is known even
# when the library's table lacks the name. Elsewhere an unknown name stops the build.
GENERIC_NUMBERS = {
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_getfd": 438,
    "process_madvise": 440,
    "mount_setattr": 442,
    "quotactl_fd": 443,
}
GENERIC_MACHINES = ("x86_64", "aarch64")


def syscall_number(name: str, resolved: int, machine: str) -> int | None:
    """The number to filter ``name`` by: libseccomp's (``resolved``; negative for a call
    this architecture lacks, which libseccomp then leaves out), else the asm-generic one on
    machines that use it; None when unknown (pure)."""
    if resolved != -1:  # -1 is __NR_SCMP_ERROR: a name this libseccomp does not know
        return resolved
    if machine in GENERIC_MACHINES:
        return GENERIC_NUMBERS.get(name)
    return None


class SeccompUnavailable(Exception):
    """libseccomp cannot be loaded or refused the filter: sandboxes would run unfiltered."""


def build_program(all_rules: Iterable[Rule]) -> bytes:
    """The rules as a BPF program for this machine's architecture, through libseccomp."""
    try:
        import pyseccomp  # type: ignore[import-untyped]  # ctypes over libseccomp.so.2
    except (ImportError, OSError, RuntimeError) as exc:
        raise SeccompUnavailable(f"cannot load libseccomp: {exc}") from exc
    ops = {MASKED_EQ: pyseccomp.MASKED_EQ, GT: pyseccomp.GT}
    try:
        sieve = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
        # A binary tree over the syscall numbers (libseccomp >= 2.5) rather than a linear
        # chain: every allowed call of a function walks the filter, so keep the walk short.
        with contextlib.suppress(OSError):
            sieve.set_attr(pyseccomp.Attr.CTL_OPTIMIZE, 2)
        for rule in all_rules:
            number = syscall_number(
                rule.syscall,
                pyseccomp.resolve_syscall(pyseccomp.Arch.NATIVE, rule.syscall),
                platform.machine(),
            )
            if number is None:
                raise SeccompUnavailable(f"libseccomp does not know {rule.syscall}")
            args = []
            if rule.arg is not None:
                test = rule.arg
                if test.op == MASKED_EQ:
                    args.append(pyseccomp.Arg(test.index, ops[test.op], test.mask, test.value))
                else:
                    args.append(pyseccomp.Arg(test.index, ops[test.op], test.value))
            # A negative number is a call this architecture lacks (iopl on arm64): libseccomp
            # accepts it and leaves it out.
            sieve.add_rule(pyseccomp.ERRNO(rule.errno), number, *args)
        fd = os.memfd_create("nimbus-seccomp", os.MFD_CLOEXEC)
        try:
            with io.FileIO(fd, "r+", closefd=False) as handle:
                sieve.export_bpf(handle)
            size = os.fstat(fd).st_size
            program = os.pread(fd, size, 0)
        finally:
            os.close(fd)
    except OSError as exc:
        raise SeccompUnavailable(f"libseccomp refused the filter: {exc}") from exc
    if not program or len(program) % 8:
        raise SeccompUnavailable(f"libseccomp exported {len(program)} bytes")
    return program


@functools.cache
def program() -> bytes:
    """This machine's filter, built on first use and kept for the process's lifetime (every
    zygote, and every restart of one, gets the same bytes)."""
    return build_program(rules(clone_flags_arg()))
