"""NamespacesBackend.start gives back what it claimed when a later step fails (C3): a zygote
that cannot start (no seccomp filter, say) must not leave the host lock and cgroup parents,
the uid block or the function network behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from nimbus.worker.sandbox.cgroups import Cgroups
from nimbus.worker.sandbox.cpu_policy import CpuLimit
from nimbus.worker.sandbox.forker import Forker
from nimbus.worker.sandbox.namespaces_backend import NamespacesBackend
from nimbus.worker.sandbox.network import FunctionNetwork
from nimbus.worker.sandbox.uid_pool import UidPool


class Recorder:
    def __init__(self, log: list[str], name: str, *, fail_start: bool = False) -> None:
        self._log, self._name, self._fail = log, name, fail_start

    def close(self) -> None:
        self._log.append(f"{self._name}.close")

    def claim_block(self, lock_dir: Path) -> None:
        self._log.append(f"{self._name}.claim")


class AsyncRecorder(Recorder):
    async def start(self) -> None:
        self._log.append(f"{self._name}.start")
        if self._fail:
            raise RuntimeError(f"{self._name} cannot start")

    async def close(self) -> None:  # type: ignore[override]
        self._log.append(f"{self._name}.close")


async def test_a_failing_zygote_start_releases_everything_in_reverse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log: list[str] = []
    monkeypatch.setattr(Cgroups, "open", classmethod(lambda cls, host_id: Recorder(log, "cg")))
    backend = NamespacesBackend(
        forker=cast(Forker, AsyncRecorder(log, "forker", fail_start=True)),
        root_dir=tmp_path / "root",
        uids=cast(UidPool, Recorder(log, "uids")),
        host_id="ab12cd34",
        pids_limit=64,
        cpu_limit=CpuLimit.SHARES,
        warm_sandboxes=0,
        uid_lock_dir=tmp_path / "uids",
        network=cast(FunctionNetwork, AsyncRecorder(log, "net")),
    )
    disks: Any = AsyncRecorder(log, "disks")
    backend.disks = disks
    with pytest.raises(RuntimeError, match="forker cannot start"):
        await backend.start()
    assert log == [
        "uids.claim",
        "net.start",
        "forker.start",
        "forker.close",  # a half-started zygote is closed too
        "net.close",
        "uids.close",
        "cg.close",
    ]
