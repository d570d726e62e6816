"""End to end: every Python the host has is offered as its AWS runtime, each running in its
own interpreter (a zygote per runtime, started lazily); deprecated runtimes are refused as AWS
refuses them; NIMBUS_RUNTIMES maps a runtime to an explicit interpreter."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from nimbus.runtimes import probe
from tests.support import NimbusServer, create_function, error_of, make_zip

VERSION_HANDLER = """
import sys, os
def handler(event, context):
    return {"version": list(sys.version_info[:2]), "env": os.environ["AWS_EXECUTION_ENV"]}
"""

TABLE = probe.discover(server_python=sys.executable)


def needs(runtime: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        TABLE.interpreter(runtime) is None, reason=f"{runtime}: no interpreter on this host"
    )


def wait_active(lam: Any, name: str, timeout_s: float = 30.0) -> None:
    """Functions are Pending briefly after CreateFunction (as on AWS)."""
    deadline = time.monotonic() + timeout_s
    while lam.get_function(FunctionName=name)["Configuration"]["State"] != "Active":
        assert time.monotonic() < deadline, f"{name} never became Active"
        time.sleep(0.05)


def invoke_json(lam: Any, name: str) -> dict[str, Any]:
    response = lam.invoke(FunctionName=name, Payload=b"{}")
    body: dict[str, Any] = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    return body


@pytest.mark.parametrize(
    "runtime",
    [
        pytest.param("python3.10", marks=needs("python3.10")),
        pytest.param("python3.12", marks=needs("python3.12")),
        pytest.param("python3.13", marks=needs("python3.13")),
    ],
)
def test_each_python_runtime_runs_its_own_interpreter(lam: Any, fname: str, runtime: str) -> None:
    create_function(lam, fname, code=make_zip({"app.py": VERSION_HANDLER}), Runtime=runtime)
    wait_active(lam, fname)
    started = time.monotonic()
    first = invoke_json(lam, fname)
    cold_s = time.monotonic() - started
    second = invoke_json(lam, fname)
    major, minor = runtime.removeprefix("python").split(".")
    assert first["version"] == [int(major), int(minor)]
    assert second["version"] == first["version"]
    assert first["env"] == f"AWS_Lambda_{runtime}"
    # The first cold start of a runtime also starts its zygote: it must stay interactive.
    print(f"{runtime}: first cold start (with zygote start) {cold_s * 1000:.0f} ms")
    assert cold_s < 5.0


def test_runtimes_not_on_this_host_are_refused_with_the_reason(lam: Any, fname: str) -> None:
    missing = [entry.runtime for entry in TABLE.entries if not entry.available]
    if not missing:
        pytest.skip("every runtime has an interpreter here")
    with pytest.raises(ClientError) as exc:
        create_function(lam, fname, code=make_zip({"app.py": VERSION_HANDLER}), Runtime=missing[0])
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert f"The runtime {missing[0]} cannot run on this Nimbus host" in message


@pytest.mark.parametrize("runtime", ["python3.8", "python3.7", "nodejs16.x"])
def test_deprecated_runtimes_are_refused_as_aws_does(lam: Any, fname: str, runtime: str) -> None:
    with pytest.raises(ClientError) as exc:
        create_function(lam, fname, code=make_zip({"app.py": VERSION_HANDLER}), Runtime=runtime)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message.startswith(
        f"The runtime parameter of {runtime} is no longer supported for creating or updating "
        "AWS Lambda functions."
    )


@pytest.fixture(scope="module")
def mapped_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A server whose python3.12 is mapped to a 3.13 interpreter (wrong on purpose) and
    whose python3.13 is mapped explicitly."""
    py313 = TABLE.interpreter("python3.13")
    if py313 is None:
        pytest.skip("needs a Python 3.13")
    with NimbusServer(
        data_dir=tmp_path_factory.mktemp("mapped") / "data",
        env={"NIMBUS_RUNTIMES": f"python3.12={py313.path},python3.13={py313.path}"},
    ) as instance:
        yield instance


def test_an_explicit_mapping_is_used_or_reported(mapped_server: NimbusServer) -> None:
    """...and the mapped interpreter's zygote starts on its runtime's first cold start."""
    assert mapped_server.process is not None
    before = zygote_pythons(mapped_server.process.pid)
    assert len(before) == 1 and "3.13" not in before[0], before
    lam = mapped_server.client("lambda")
    code = make_zip({"app.py": VERSION_HANDLER})
    create_function(lam, "mapped13", code=code, Runtime="python3.13")
    wait_active(lam, "mapped13")
    assert invoke_json(lam, "mapped13")["version"] == [3, 13]
    after = zygote_pythons(mapped_server.process.pid)
    assert any("3.13" in exe for exe in after), after
    with pytest.raises(ClientError) as exc:
        create_function(lam, "mapped12", code=code, Runtime="python3.12")
    assert error_of(exc)[0] == "InvalidParameterValueException"


def zygote_pythons(server_pid: int) -> list[str]:
    """The interpreters of the server's zygote children."""
    found = []
    for child in children(server_pid):
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        if any(b"zygote_server" in part for part in cmdline):
            found.append(cmdline[0].decode())
    return found


def children(pid: int) -> list[int]:
    pids: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        pids += [int(p) for p in text]
    return pids


BOTO_HANDLER = """
import sys
def handler(event, context):
    import boto3  # bundled, as in Lambda's Python runtimes
    return {"version": list(sys.version_info[:2]), "prefix": sys.base_prefix,
            "boto3": boto3.__version__}
"""


def test_a_distribution_python_runs_with_the_bundled_boto3(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """/usr/bin/python3.X has no site-packages under its prefix to bind boto3 onto."""
    own = f"python{sys.version_info.major}.{sys.version_info.minor}"
    system = Path(f"/usr/bin/{own}")
    if not system.exists():
        pytest.skip(f"no {system}")
    instance = NimbusServer(
        data_dir=tmp_path_factory.mktemp("usrpython") / "data",
        env={"NIMBUS_RUNTIMES": f"{own}={system}"},
    )
    instance.start()
    try:
        lam = instance.client("lambda")
        create_function(lam, "usrpy", code=make_zip({"app.py": BOTO_HANDLER}), Runtime=own)
        wait_active(lam, "usrpy")
        body = invoke_json(lam, "usrpy")
        assert body["prefix"] == "/usr"
        assert body["boto3"]
    finally:
        instance.stop()
