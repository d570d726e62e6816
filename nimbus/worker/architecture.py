"""A function's instruction-set architecture against the host's (pure).

Nimbus runs ``Architectures: ["arm64"]`` and ``["x86_64"]`` on any host, so templates written
for AWS deploy unchanged: interpreted code (Python, JavaScript, shell) runs the same on both.
Native code does not, so each cold start of a function whose architecture is not the host's
gets a warning line in its logs, and the native files it ships are checked by their ELF
header: a custom runtime's ``bootstrap`` built for the other architecture fails Init with
``Runtime.InvalidEntrypoint`` before anything starts (exec would only say "exec format
error"); shared libraries of the other architecture are named in a warning, and importing one
fails as it would on AWS (``Runtime.ImportModuleError``).

``worker.native_code`` reads the files; this module decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

X86_64 = "x86_64"
ARM64 = "arm64"

# platform.machine() spellings -> Lambda's names (Linux says aarch64, macOS and BSDs arm64).
_MACHINES = {"x86_64": X86_64, "amd64": X86_64, "aarch64": ARM64, "arm64": ARM64}

# ELF e_machine values (System V ABI); only these are named, others by number.
_ELF_MACHINES = {3: "i386", 40: "arm", 62: X86_64, 183: ARM64}
_ELF_MAGIC = b"\x7fELF"
_EI_DATA = 5  # byte order of the header's fields: 1 little-endian, 2 big-endian
_E_MACHINE = 18  # offset of the 2-byte e_machine field, the same in 32- and 64-bit headers
HEADER_BYTES = 64  # enough of any ELF header (a 64-bit header is 64 bytes)
SHOWN_LIBRARIES = 5  # a warning names this many files, then counts the rest


def host_architecture(machine: str) -> str:
    """Lambda's name for ``platform.machine()``; an unknown machine keeps its own name
    (lowercased), so no function declared for x86_64 or arm64 matches it."""
    lowered = machine.lower()
    return _MACHINES.get(lowered, lowered)


def elf_machine(head: bytes) -> str | None:
    """The architecture an ELF file was built for, from its first bytes; None when they are
    not an ELF header (a script, a text file, a truncated file)."""
    if len(head) < _E_MACHINE + 2 or not head.startswith(_ELF_MAGIC):
        return None
    low, high = head[_E_MACHINE], head[_E_MACHINE + 1]
    if head[_EI_DATA] == 1:
        number = low | high << 8
    elif head[_EI_DATA] == 2:
        number = low << 8 | high
    else:
        return None
    return _ELF_MACHINES.get(number, f"ELF machine {number}")


@dataclass(frozen=True, kw_only=True)
class Mismatch:
    """A native file built for an architecture that is not the host's."""

    path: str  # as the function sees it: /var/task/..., /opt/...
    architecture: str


def mismatches(files: Iterable[tuple[str, bytes]], host_arch: str) -> tuple[Mismatch, ...]:
    """The files (path, first bytes) that are ELF and built for another architecture than
    ``host_arch``, in the order given. Non-ELF files are never a mismatch."""
    found: list[Mismatch] = []
    for path, head in files:
        arch = elf_machine(head)
        if arch is not None and arch != host_arch:
            found.append(Mismatch(path=path, architecture=arch))
    return tuple(found)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What one Init does about architectures: lines for the function's log, and the
    ``Runtime.InvalidEntrypoint`` message that fails it (None: Init goes ahead)."""

    lines: tuple[str, ...] = ()
    error: str | None = None


def verdict(
    *,
    function_arch: str,
    host_arch: str,
    bootstrap: Mismatch | None = None,
    libraries: Sequence[Mismatch] = (),
    wrapped: bool = False,
) -> Verdict:
    """The verdict for a function declared for ``function_arch`` whose bootstrap (custom
    runtimes only) and shared libraries were checked against ``host_arch``. ``wrapped``: an
    exec wrapper (AWS_LAMBDA_EXEC_WRAPPER) starts the bootstrap, and may do so under an
    emulator (qemu-user), so a foreign bootstrap is then only warned about."""
    lines: list[str] = []
    if function_arch != host_arch:
        lines.append(
            f"[nimbus] WARNING: this function is built for {function_arch} and runs on an "
            f"{host_arch} host: interpreted code runs unchanged, native code built for "
            f"{function_arch} does not."
        )
    if libraries:
        lines.append(_libraries_line(libraries, host_arch))
    error = None
    if bootstrap is not None:
        problem = (
            f"{bootstrap.path} is an {bootstrap.architecture} executable; this host runs "
            f"{host_arch} and cannot start it (exec format error)"
        )
        if wrapped:
            lines.append(f"[nimbus] WARNING: {problem} unless the exec wrapper emulates it.")
        else:
            error = (
                f"{problem}. Build the bootstrap for {host_arch}, or run Nimbus on an "
                f"{bootstrap.architecture} host."
            )
    return Verdict(lines=tuple(lines), error=error)


def _libraries_line(libraries: Sequence[Mismatch], host_arch: str) -> str:
    shown = ", ".join(f"{item.path} ({item.architecture})" for item in libraries[:SHOWN_LIBRARIES])
    more = len(libraries) - SHOWN_LIBRARIES
    if more > 0:
        shown += f" and {more} more"
    return (
        f"[nimbus] WARNING: native libraries built for another architecture cannot load on "
        f"this {host_arch} host: {shown}"
    )
