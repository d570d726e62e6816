"""The native-code check's shell: which files it reads, and that it reads each directory once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker.backend import MissingEntrypoint
from nimbus.worker.native_code import ForeignBootstrap, NativeCode

HEAD = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x02\x00"
ARM_ELF = HEAD + b"\xb7\x00" + b"\x00" * 44
X86_ELF = HEAD + b"\x3e\x00" + b"\x00" * 44


def make_dir(root: Path, files: dict[str, bytes], *, executable: tuple[str, ...] = ()) -> Path:
    root.mkdir()
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        path.chmod(0o755 if name in executable else 0o644)
    return root


def spec(code: Path, runtime: str = "provided.al2023", arch: str = "x86_64") -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name="fn",
        function_version="$LATEST",
        function_arn="arn:aws:lambda:us-east-1:000000000000:function:fn",
        runtime=runtime,
        architecture=arch,
        handler="x",
        code_dir=code,
    )


async def lines_of(check: NativeCode, spec: EnvironmentSpec, opt: Path | None = None) -> list[str]:
    lines: list[str] = []
    await check.check(spec, opt, log=lines.append)
    return lines


async def test_a_foreign_bootstrap_raises_a_missing_entrypoint(tmp_path: Path) -> None:
    code = make_dir(tmp_path / "code", {"bootstrap": ARM_ELF}, executable=("bootstrap",))
    with pytest.raises(ForeignBootstrap) as raised:
        await lines_of(NativeCode("x86_64"), spec(code))
    assert isinstance(raised.value, MissingEntrypoint)  # the host maps it like a missing one
    assert str(raised.value).startswith("/var/task/bootstrap is an arm64 executable;")
    # The same bootstrap on the host it was built for is fine.
    assert await lines_of(NativeCode("arm64"), spec(code, arch="arm64")) == []


async def test_the_bootstrap_checked_is_the_one_lambda_would_run(tmp_path: Path) -> None:
    opt = make_dir(tmp_path / "opt", {"bootstrap": ARM_ELF}, executable=("bootstrap",))
    no_bootstrap = make_dir(tmp_path / "none", {"README": b"docs"})
    with pytest.raises(ForeignBootstrap, match=r"^/opt/bootstrap is an arm64"):
        await lines_of(NativeCode("x86_64"), spec(no_bootstrap), opt)
    # A script in /var/task is what runs: the foreign one in /opt is never started.
    script = make_dir(tmp_path / "script", {"bootstrap": b"#!/bin/sh\n"}, executable=("bootstrap",))
    assert await lines_of(NativeCode("x86_64"), spec(script), opt) == []
    # Not executable: Lambda would not run it (the launch reports it missing instead).
    plain = make_dir(tmp_path / "plain", {"bootstrap": ARM_ELF})
    assert await lines_of(NativeCode("x86_64"), spec(plain)) == []
    # Interpreted runtimes never run a bootstrap.
    assert await lines_of(NativeCode("x86_64"), spec(opt, runtime="python3.11")) == []


async def test_foreign_libraries_in_code_and_layers_are_named(tmp_path: Path) -> None:
    code = make_dir(
        tmp_path / "code",
        {
            "app.py": b"import fast\n",
            "fast.so": ARM_ELF,
            "pkg/_speedups.cpython-311-x86_64-linux-gnu.so": X86_ELF,
            "node_modules/addon/build/addon.node": ARM_ELF,
            "notes.so.txt": b"just text",
        },
    )
    (code / "link.so").symlink_to(code / "fast.so")  # walked under its own name only
    opt = make_dir(tmp_path / "opt", {"lib/libz.so.1.3": ARM_ELF})
    (line,) = await lines_of(NativeCode("x86_64"), spec(code, runtime="python3.11"), opt)
    assert line.endswith(
        "this x86_64 host: /var/task/fast.so (arm64), "
        "/var/task/node_modules/addon/build/addon.node (arm64), /opt/lib/libz.so.1.3 (arm64)"
    )


async def test_each_directory_is_walked_once(tmp_path: Path) -> None:
    code = make_dir(tmp_path / "code", {"fast.so": ARM_ELF})
    check = NativeCode("x86_64")
    first = await lines_of(check, spec(code, runtime="python3.11"))
    (code / "fast.so").write_bytes(X86_ELF)  # extracted code never changes; the cache says so
    assert await lines_of(check, spec(code, runtime="python3.11")) == first
    assert await lines_of(NativeCode("x86_64"), spec(code, runtime="python3.11")) == []


async def test_without_a_log_it_still_refuses(tmp_path: Path) -> None:
    code = make_dir(tmp_path / "code", {"bootstrap": ARM_ELF}, executable=("bootstrap",))
    with pytest.raises(ForeignBootstrap):
        await NativeCode("x86_64").check(spec(code, arch="arm64"), None, log=None)


async def test_an_exec_wrapper_turns_the_refusal_into_a_warning(tmp_path: Path) -> None:
    code = make_dir(tmp_path / "code", {"bootstrap": ARM_ELF}, executable=("bootstrap",))
    wrapped = replace(spec(code), environment={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/qemu.sh"})
    (line,) = await lines_of(NativeCode("x86_64"), wrapped)
    assert "/var/task/bootstrap is an arm64 executable" in line
