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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def host(workdir: Path, sink: ListSink) -> AsyncIterator[LocalWorkerHost]:
    """One host per test module ("auto": namespaces when root, else process)."""
    instance = LocalWorkerHost(data_dir=workdir / "data", log_sink=sink, clock=SystemClock())
    await instance.start()
    yield instance
    await instance.close()
