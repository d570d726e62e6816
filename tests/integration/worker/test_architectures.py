"""``Architectures`` against the host's architecture, end to end.

Nimbus accepts ``["arm64"]`` and ``["x86_64"]`` on any host, so templates written for AWS
deploy unchanged. A cold start of a function for the other architecture writes one warning
line into its log; a custom runtime whose bootstrap is an executable for the other
architecture fails Init with ``Runtime.InvalidEntrypoint`` naming the file and both
architectures, before anything starts; foreign shared libraries are named in a warning.
"""

from __future__ import annotations

import json
import platform
from typing import Any

import pytest

from nimbus.worker.architecture import host_architecture
from tests.support import NimbusServer, create_function, make_zip

HOST = host_architecture(platform.machine())
OTHER = "arm64" if HOST == "x86_64" else "x86_64"
E_MACHINE = {"x86_64": 62, "arm64": 183}

pytestmark = pytest.mark.skipif(
    HOST not in E_MACHINE, reason=f"needs an x86_64 or arm64 host, not {HOST}"
)


def elf_header(arch: str) -> bytes:
    """A 64-byte ELF64 little-endian executable header for ``arch`` (and nothing after it)."""
    ident = b"\x7fELF\x02\x01\x01\x00" + bytes(8)  # magic, 64-bit, LSB, version 1, SysV
    fields = (2).to_bytes(2, "little") + E_MACHINE[arch].to_bytes(2, "little")  # ET_EXEC
    return ident + fields + bytes(64 - len(ident) - len(fields))


def messages(server: NimbusServer, name: str) -> list[str]:
    with server.http(timeout=10.0) as http:  # signed: auth is on
        response = http.get(f"/_nimbus/logs/{name}")
    assert response.status_code == 200, response.text
    return [event["message"] for event in response.json()["events"]]


def deploy(lam: Any, name: str, files: dict[str, str | bytes], **overrides: Any) -> None:
    code = make_zip(files, modes={"bootstrap": 0o755})
    create_function(lam, name, code=code, **overrides)
    lam.get_waiter("function_active_v2").wait(FunctionName=name)


def warnings(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("[nimbus] WARNING:")]


HANDLER = "import platform\ndef handler(event, context):\n    return platform.machine()\n"


def test_a_function_for_the_other_architecture_runs_with_a_warning(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, {"app.py": HANDLER}, Architectures=[OTHER])
    assert lam.get_function_configuration(FunctionName=fname)["Architectures"] == [OTHER]
    first = lam.invoke(FunctionName=fname)
    lam.invoke(FunctionName=fname)  # warm: no second warning
    assert "FunctionError" not in first
    assert json.loads(first["Payload"].read()) == platform.machine()  # ran on this host
    lines = messages(server, fname)
    assert warnings(lines) == [
        f"[nimbus] WARNING: this function is built for {OTHER} and runs on an {HOST} host: "
        f"interpreted code runs unchanged, native code built for {OTHER} does not."
    ]
    # Written at the cold start: after INIT_START, before the invocation's START.
    at = lines.index(warnings(lines)[0])
    assert lines[0].startswith("INIT_START") and at < lines.index(
        next(line for line in lines if line.startswith("START RequestId:"))
    )


def test_a_function_for_the_hosts_architecture_logs_no_warning(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, {"app.py": HANDLER}, Architectures=[HOST])
    response = lam.invoke(FunctionName=fname)
    assert "FunctionError" not in response
    lines = messages(server, fname)
    assert any(line.startswith("REPORT RequestId:") for line in lines)
    assert warnings(lines) == []


def test_a_bootstrap_for_the_other_architecture_fails_init_clearly(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(
        lam,
        fname,
        {"bootstrap": elf_header(OTHER)},
        Runtime="provided.al2023",
        Handler="x",
        Architectures=[OTHER],
    )
    response = lam.invoke(FunctionName=fname, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    error = json.loads(response["Payload"].read())
    assert error["errorType"] == "Runtime.InvalidEntrypoint"
    assert error["errorMessage"].startswith(
        f"/var/task/bootstrap is an {OTHER} executable; this host runs {HOST}"
    )
    reports = [line for line in messages(server, fname) if line.startswith("INIT_REPORT")]
    # Both Inits (and the retry inside the invoke) fail the same way: had a process started
    # and failed to exec, they would say Runtime.ExitError.
    assert len(reports) == 2
    assert all(r.endswith("Error Type: Runtime.InvalidEntrypoint") for r in reports)


def test_a_foreign_shared_library_is_named_and_its_import_fails(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(
        lam,
        fname,
        {"app.py": "import fast\ndef handler(e, c):\n    return 1\n", "fast.so": elf_header(OTHER)},
    )
    response = lam.invoke(FunctionName=fname, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert json.loads(response["Payload"].read())["errorType"] == "Runtime.ImportModuleError"
    expected = (
        "[nimbus] WARNING: native libraries built for another architecture cannot load on "
        f"this {HOST} host: /var/task/fast.so ({OTHER})"
    )
    # Once per cold start: the retry of the failed Init inside the invoke writes none.
    assert warnings(messages(server, fname)) == [expected]
