"""The zygote's restart back-off (pure) and its supervision with a fake interpreter."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from nimbus.worker.sandbox.zygote import ZygoteClient
from nimbus.worker.sandbox.zygote_policy import ZygoteLost, restart_delay


def test_restart_delay_starts_at_once_and_backs_off_to_a_cap() -> None:
    delays = (0.0, 0.1, 0.5, 2.0)
    assert [restart_delay(n, delays) for n in range(6)] == [0.0, 0.1, 0.5, 2.0, 2.0, 2.0]


@pytest.mark.asyncio
async def test_a_killed_zygote_is_replaced() -> None:
    zygote = ZygoteClient(python=sys.executable, restart_delays=(0.0, 0.01))
    await zygote.start()
    try:
        first = zygote.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        for _ in range(500):  # the supervisor notices the EOF and restarts, unasked
            if zygote.running and zygote.pid != first:
                break
            await asyncio.sleep(0.01)
        assert zygote.running and zygote.pid != first
        assert zygote.restarts == 1
    finally:
        await zygote.close()


@pytest.mark.asyncio
async def test_an_interpreter_that_cannot_start_fails_the_cold_start_fast(tmp_path: Path) -> None:
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    zygote = ZygoteClient(python=str(broken), restart_delays=(0.0, 0.01), spawn_wait_s=5)
    try:
        with pytest.raises(ZygoteLost, match="failed to start"):
            await zygote.ensure_running()
    finally:
        await zygote.close()
