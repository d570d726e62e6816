"""The ``iam`` fixture: IAM over a real SQLite store in tmp_path (``iam_support``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from nimbus.store.database import open_engine
from tests.unit.iam.iam_support import Iam, build


@pytest.fixture
async def iam(tmp_path: Path) -> AsyncIterator[Iam]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield build(engine)
    await engine.dispose()
