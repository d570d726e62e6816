"""The architecture rules: ELF headers, host names, and what an Init does about them."""

from __future__ import annotations

import pytest

from nimbus.worker.architecture import (
    ARM64,
    X86_64,
    Mismatch,
    Verdict,
    elf_machine,
    host_architecture,
    mismatches,
    verdict,
)

# The first 20 bytes of real 64-bit little-endian ELF headers (magic, class 2, data 1,
# version 1, System V ABI, padding, e_type, e_machine), then the rest of a 64-byte header.
X86_ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00" + b"\x3e\x00" + b"\x00" * 44
ARM_ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x03\x00" + b"\xb7\x00" + b"\x00" * 44


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (X86_ELF, X86_64),
        (ARM_ELF, ARM64),
        # 32-bit i386 and ARM executables (class 1), and a big-endian aarch64 header.
        (b"\x7fELF\x01\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x03\x00", "i386"),
        (b"\x7fELF\x01\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\x28\x00", "arm"),
        (b"\x7fELF\x02\x02\x01\x00" + b"\x00" * 8 + b"\x00\x02\x00\xb7", ARM64),
        # RISC-V (243) has no name here: it is named by its number, never taken for a match.
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00\xf3\x00", "ELF machine 243"),
    ],
)
def test_elf_machine_reads_e_machine_in_the_headers_byte_order(head: bytes, expected: str) -> None:
    assert elf_machine(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"#!/bin/sh\necho hello\n",  # a script bootstrap
        b"",
        X86_ELF[:19],  # truncated before e_machine ends
        b"\x7fELF\x02\x03" + X86_ELF[6:],  # unknown byte order
        b"\x7fELG" + X86_ELF[4:],
    ],
)
def test_elf_machine_is_none_for_anything_but_an_elf_header(head: bytes) -> None:
    assert elf_machine(head) is None


@pytest.mark.parametrize(
    ("machine", "expected"),
    [
        ("x86_64", X86_64),
        ("AMD64", X86_64),
        ("aarch64", ARM64),
        ("arm64", ARM64),
        ("riscv64", "riscv64"),
    ],
)
def test_host_architecture_uses_lambdas_names(machine: str, expected: str) -> None:
    assert host_architecture(machine) == expected


def test_mismatches_are_the_elf_files_of_another_architecture_in_order() -> None:
    files = [
        ("/var/task/a.so", ARM_ELF),
        ("/var/task/b.so", X86_ELF),
        ("/var/task/c.so", b"not an ELF file"),
        ("/opt/lib/d.so.1", ARM_ELF),
    ]
    assert mismatches(files, X86_64) == (
        Mismatch(path="/var/task/a.so", architecture=ARM64),
        Mismatch(path="/opt/lib/d.so.1", architecture=ARM64),
    )
    assert mismatches(files, ARM64) == (Mismatch(path="/var/task/b.so", architecture=X86_64),)


def test_a_function_for_the_hosts_architecture_gets_nothing() -> None:
    assert verdict(function_arch=X86_64, host_arch=X86_64) == Verdict()


def test_a_function_for_the_other_architecture_gets_one_warning_line() -> None:
    assert verdict(function_arch=ARM64, host_arch=X86_64) == Verdict(
        lines=(
            "[nimbus] WARNING: this function is built for arm64 and runs on an x86_64 host: "
            "interpreted code runs unchanged, native code built for arm64 does not.",
        )
    )
    (line,) = verdict(function_arch=X86_64, host_arch=ARM64).lines
    assert "built for x86_64 and runs on an arm64 host" in line


def test_a_foreign_bootstrap_fails_init_naming_the_file_and_both_architectures() -> None:
    result = verdict(
        function_arch=ARM64,
        host_arch=X86_64,
        bootstrap=Mismatch(path="/var/task/bootstrap", architecture=ARM64),
    )
    assert result.error is not None
    assert result.error.startswith(
        "/var/task/bootstrap is an arm64 executable; this host runs x86_64"
    )
    assert len(result.lines) == 1  # the architecture warning is still written


def test_foreign_libraries_are_named_in_a_warning_and_init_goes_ahead() -> None:
    libraries = [Mismatch(path=f"/var/task/lib{i}.so", architecture=ARM64) for i in range(7)]
    result = verdict(function_arch=X86_64, host_arch=X86_64, libraries=libraries)
    assert result.error is None
    (line,) = result.lines
    assert line.startswith("[nimbus] WARNING: native libraries built for another architecture")
    assert "this x86_64 host: /var/task/lib0.so (arm64), /var/task/lib1.so (arm64)" in line
    assert "/var/task/lib4.so (arm64) and 2 more" in line
    assert "lib5.so" not in line


def test_behind_an_exec_wrapper_a_foreign_bootstrap_is_only_warned_about() -> None:
    # The wrapper starts the bootstrap and may run it under qemu-user: not refused.
    result = verdict(
        function_arch=X86_64,
        host_arch=X86_64,
        bootstrap=Mismatch(path="/var/task/bootstrap", architecture=ARM64),
        wrapped=True,
    )
    assert result.error is None
    assert result.lines == (
        "[nimbus] WARNING: /var/task/bootstrap is an arm64 executable; this host runs x86_64 "
        "and cannot start it (exec format error) unless the exec wrapper emulates it.",
    )
