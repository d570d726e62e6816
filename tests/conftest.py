from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import NimbusServer

_names = itertools.count()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    """One real `nimbus server` shared by the end-to-end tests of a session."""
    with NimbusServer(data_dir=tmp_path_factory.mktemp("nimbus") / "data") as instance:
        yield instance


@pytest.fixture(scope="session")
def lam(server: NimbusServer) -> Any:
    return server.client("lambda")


@pytest.fixture
def fname(request: pytest.FixtureRequest) -> str:
    """A function name unique to this test."""
    base = re.sub(r"[^a-zA-Z0-9-]", "-", request.node.name)[:40]
    return f"{base}-{next(_names)}"


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path
