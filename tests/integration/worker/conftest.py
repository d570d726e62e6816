from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from nimbus.clock import SystemClock
from nimbus.worker.host import LocalWorkerHost
from tests.integration.worker.support import ListSink


@pytest.fixture(scope="module")
def sink() -> ListSink:
    return ListSink()


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("worker")


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["auto", "process"])
async def host(
    workdir: Path, sink: ListSink, request: pytest.FixtureRequest
) -> AsyncIterator[LocalWorkerHost]:
    """One host per test module and backend: "auto" (namespaces when root, else process)
    and "process", so both sandbox backends run every test when the suite runs as root."""
    instance = LocalWorkerHost(
        data_dir=workdir / f"data-{request.param}",
        log_sink=sink,
        clock=SystemClock(),
        isolation=request.param,
    )
    await instance.start()
    yield instance
    await instance.close()
