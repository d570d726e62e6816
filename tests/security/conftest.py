"""Fixtures for the security suite: hostile functions get a server of their own per module.

The session-wide `server` (tests/conftest.py) is shared by the functional tests; a module of
hostile functions (fork bombs, floods, kill attempts) runs against its own server so that a
containment failure shows up in that module and cannot disturb unrelated tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support import NimbusServer


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    """A real `nimbus server` for one test module."""
    with NimbusServer(data_dir=tmp_path_factory.mktemp("nimbus-security") / "data") as instance:
        yield instance


@pytest.fixture(scope="module")
def module_lam(module_server: NimbusServer) -> Any:
    """A boto3 Lambda client for `module_server`."""
    return module_server.client("lambda")
