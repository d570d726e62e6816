"""The seccomp rules: what they mean (pure, over literals) and that the program libseccomp
exports from them makes the kernel answer the same (in a forked child)."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import threading

import pytest

from nimbus.worker.sandbox import seccomp_filter
from nimbus.worker.sandbox.enter import SeccompProgram
from nimbus.worker.sandbox.seccomp_filter import decide, personality_rules, rules, syscall_number

RULES = rules()


DENIED = [
    "mount",
    "umount2",
    "pivot_root",
    "chroot",
    "ptrace",
    "process_vm_readv",
    "bpf",
    "keyctl",
    "add_key",
    "request_key",
    "perf_event_open",
    "unshare",
    "setns",
    "kexec_load",
    "init_module",
    "finit_module",
    "delete_module",
    "userfaultfd",
    "io_uring_setup",
    "open_by_handle_at",
    "clock_settime",
    "settimeofday",
    "reboot",
    "syslog",
    "acct",
    # the new mount API: mount in steps
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "move_mount",
    "open_tree",
    "mount_setattr",
    "quotactl_fd",
    # other processes' descriptors and memory
    "kcmp",
    "pidfd_getfd",
    "process_madvise",
    # NUMA placement
    "mbind",
    "set_mempolicy",
    "move_pages",
    "migrate_pages",
    # obsolete
    "uselib",
    "ustat",
    "sysfs",
    "_sysctl",
    "nfsservctl",
]


@pytest.mark.parametrize("name", DENIED)
def test_calls_a_function_never_needs_are_denied(name: str) -> None:
    assert decide(RULES, name) == errno.EPERM


@pytest.mark.parametrize(
    "name", ["read", "write", "openat", "clone", "socket", "execve", "get_mempolicy", "madvise"]
)
def test_ordinary_calls_are_allowed(name: str) -> None:
    assert decide(RULES, name) == 0


def test_clone_is_denied_only_with_a_namespace_flag() -> None:
    thread_flags = 0x003D0F00  # CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|*TID (glibc)
    assert decide(RULES, "clone", (thread_flags,)) == 0
    assert decide(RULES, "clone", (17,)) == 0  # fork(): SIGCHLD only
    for flag in (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000):
        assert decide(RULES, "clone", (17 | flag,)) == errno.EPERM
    assert decide(RULES, "clone", (0x40000000 | thread_flags,)) == errno.EPERM
    assert decide(RULES, "clone3") == errno.ENOSYS  # glibc then falls back to clone


def test_libseccomps_number_is_used_when_it_knows_the_call() -> None:
    assert syscall_number("move_mount", 429, "x86_64") == 429
    assert syscall_number("iopl", -10001, "aarch64") == -10001  # a call arm64 lacks


def test_an_older_libseccomp_falls_back_to_the_generic_number() -> None:
    assert syscall_number("mount_setattr", -1, "x86_64") == 442
    assert syscall_number("quotactl_fd", -1, "aarch64") == 443
    assert syscall_number("mount_setattr", -1, "mips64") is None  # numbered differently
    assert syscall_number("mount", -1, "x86_64") is None  # no generic number: unknown


@pytest.mark.parametrize("value", [0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF])
def test_personality_values_docker_allows_are_allowed(value: int) -> None:
    assert decide(personality_rules(), "personality", (value,)) == 0


@pytest.mark.parametrize(
    "value",
    [
        *(0x1, 0x7, 0x9, 0x0040000, 0x0400000, 0x0100000, 0x80000000, 0xFFFFFFFE, 0x7FFFFFFF),
        *(0x20009, 0x1_0000_0000, 0x1_0000_0008, 0xFFFF_FFFF_FFFF_FFFF),
    ],
)
def test_other_personalities_are_denied(value: int) -> None:
    assert decide(personality_rules(), "personality", (value,)) == errno.EPERM


def test_personality_cover_is_exact_over_every_single_and_double_bit() -> None:
    allowed = set(seccomp_filter.PERSONALITY_ALLOWED)
    values = {1 << a | 1 << b for a in range(33) for b in range(33)} | {0, 0xFFFFFFFF}
    values |= {0xFFFFFFFF ^ (1 << a) for a in range(32)}
    for value in values:
        expected = 0 if value in allowed else errno.EPERM
        assert decide(personality_rules(), "personality", (value,)) == expected, hex(value)


# What the child reports: errno of each probe after installing the exported program.
CHILD_PROBES = {"x86_64": {"keyctl": 250}, "aarch64": {"keyctl": 219}}


@pytest.mark.skipif(platform.machine() not in CHILD_PROBES, reason="syscall numbers")
def test_the_exported_program_makes_the_kernel_agree() -> None:
    try:
        program = SeccompProgram(seccomp_filter.program())
    except seccomp_filter.SeccompUnavailable as exc:
        pytest.fail(f"libseccomp must be available where Nimbus runs: {exc}")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        code = 1
        try:
            os.close(read_end)
            libc = ctypes.CDLL(None, use_errno=True)
            long = ctypes.c_long

            def errno_of(result: int) -> int:
                return 0 if result != -1 else ctypes.get_errno()

            program.install()
            box: list[int] = []
            thread = threading.Thread(target=lambda: box.append(1))
            thread.start()
            thread.join()
            child = os.fork()
            if child == 0:
                os._exit(3)
            report = {
                "keyctl": errno_of(
                    libc.syscall(long(CHILD_PROBES[platform.machine()]["keyctl"]), long(0))
                ),
                "unshare": errno_of(libc.unshare(0x00020000)),
                # unfiltered: EBADF (fd -1) and ENODEV (no such filesystem type)
                "move_mount": errno_of(
                    libc.syscall(long(429), long(-1), b"", long(-1), b"", long(0))
                ),
                "fsopen": errno_of(libc.syscall(long(430), b"nimbus-no-such-fs", long(0))),
                "clone3": errno_of(libc.syscall(long(435), None, long(0))),
                "no_aslr": errno_of(libc.personality(ctypes.c_ulong(0x0040000))),
                "query": errno_of(libc.personality(ctypes.c_ulong(0xFFFFFFFF))),
                "getpid": os.getpid() > 0,
                "thread": box,
                "fork": os.waitstatus_to_exitcode(os.waitpid(child, 0)[1]),
            }
            os.write(write_end, json.dumps(report).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        raw = reader.read()
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
    report = json.loads(raw)
    assert report == {
        "keyctl": errno.EPERM,
        "unshare": errno.EPERM,
        "move_mount": errno.EPERM,
        "fsopen": errno.EPERM,
        "clone3": errno.ENOSYS,
        "no_aslr": errno.EPERM,
        "query": 0,
        "getpid": True,
        "thread": [1],
        "fork": 3,
    }


def test_a_program_must_be_whole_instructions() -> None:
    with pytest.raises(Exception, match="not a BPF program"):
        SeccompProgram(b"1234567")
    with pytest.raises(Exception, match="not a BPF program"):
        SeccompProgram(b"")
