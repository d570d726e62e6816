"""Leak 8: an environment must not run between invocations. AWS freezes an idle execution
environment and thaws it for the next event; Nimbus freezes its cgroup (v1 ``freezer``,
v2 ``cgroup.freeze``) once it has idled NIMBUS_FREEZE_IDLE_MS (10 ms by default).

The hostile function starts a thread in Init that counts every 10 ms: between two
invocations 0.5 s apart it must hardly advance (it ticked ~50 times before the fix)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the cgroup freezer needs root")

TICKER = """
import os, threading, time
count = 0
def tick():
    global count
    while True:
        time.sleep(0.01)
        count += 1
        with open('/tmp/count', 'w') as f:
            f.write(str(count))
with open('/tmp/count', 'w') as f:
    f.write('0')
threading.Thread(target=tick, daemon=True).start()
def handler(event, context):
    with open('/tmp/count') as f:
        seen = int(f.read() or 0)
    return {"count": seen, "uid": os.getuid()}
"""

IDLE_S = 0.5


def _advance(lam: Any, name: str, **kw: Any) -> int:
    """How far the function's background counter moved while it idled IDLE_S."""
    first = call(lam, name, {}, **kw)[1]
    # The idle time is what is measured, not a wait for something to happen.
    time.sleep(IDLE_S)
    second = call(lam, name, {}, **kw)[1]
    return int(second["count"]) - int(first["count"])


def _pids_of_uid(uid: int) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                status = Path(f"/proc/{name}/status").read_text()
            except OSError:
                continue
            uid_line = next(line for line in status.splitlines() if line.startswith("Uid:"))
            if int(uid_line.split()[1]) == uid and "\nState:\tZ" not in status:
                found.append(int(name))
    return found


def _frozen(pid: int) -> bool:
    """Whether the kernel has ``pid``'s cgroup frozen (v1 freezer or v2 cgroup.freeze)."""
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "freezer" in controllers.split(","):
            state = Path(f"/sys/fs/cgroup/freezer{path}/freezer.state").read_text()
            return state.strip() == "FROZEN"
        if controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            return "frozen 1" in Path(f"/sys/fs/cgroup{path}/cgroup.events").read_text()
    return False


def _wait_for(check: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


def test_an_idle_environment_does_not_run_between_invocations(module_lam: Any, fname: str) -> None:
    deploy(module_lam, fname, TICKER)
    assert _advance(module_lam, fname) <= 8  # unfrozen: ~45


def test_the_kernel_reports_the_idle_sandbox_frozen(module_lam: Any, fname: str) -> None:
    deploy(module_lam, fname, TICKER)
    uid = call(module_lam, fname, {})[1]["uid"]
    pids = _pids_of_uid(uid)
    assert pids
    assert _wait_for(lambda: all(_frozen(pid) for pid in pids), 2.0)
    # ... and thawed for the next invocation, which runs normally.
    assert call(module_lam, fname, {})[1]["uid"] == uid


def test_a_provisioned_environment_idles_frozen(module_lam: Any, fname: str) -> None:
    deploy(module_lam, fname, TICKER)
    version = module_lam.publish_version(FunctionName=fname)["Version"]
    module_lam.put_provisioned_concurrency_config(
        FunctionName=fname, Qualifier=version, ProvisionedConcurrentExecutions=1
    )
    assert _wait_for(
        lambda: (
            module_lam.get_provisioned_concurrency_config(FunctionName=fname, Qualifier=version)[
                "Status"
            ]
            == "READY"
        ),
        30.0,
    )
    assert _advance(module_lam, fname, Qualifier=version) <= 8


@pytest.fixture(scope="module")
def reaping_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    """Idle environments reaped after 1 s, and (a control) one that never freezes."""
    with NimbusServer(
        data_dir=tmp_path_factory.mktemp("nimbus-freeze") / "data",
        env={"NIMBUS_KEEP_ALIVE": "1"},
    ) as instance:
        yield instance


def test_a_frozen_environment_is_still_reaped(reaping_server: NimbusServer, fname: str) -> None:
    lam = reaping_server.client("lambda")
    deploy(lam, fname, TICKER)
    uid = call(lam, fname, {})[1]["uid"]
    pids = _pids_of_uid(uid)
    assert pids and _wait_for(lambda: all(_frozen(pid) for pid in pids), 2.0)
    # Killing a frozen cgroup v1 task only works once it is thawed: the reaper must do so.
    assert _wait_for(lambda: not _pids_of_uid(uid), 10.0), _pids_of_uid(uid)


def test_without_the_freezer_the_counter_runs(tmp_path: Path, fname: str) -> None:
    """The control: with freezing off (NIMBUS_FREEZE_IDLE_MS=off) the same function's
    counter runs on between invocations, which is what the tests above rule out."""
    server = NimbusServer(data_dir=tmp_path / "data", env={"NIMBUS_FREEZE_IDLE_MS": "off"})
    server.start()
    try:
        lam = server.client("lambda")
        # A full vCPU's weight (1,769 MB), so a loaded machine cannot starve the counter.
        deploy(lam, fname, TICKER, MemorySize=1769)
        assert _advance(lam, fname) >= 15  # ~45 on an idle machine
    finally:
        server.stop()
