"""Fixtures the event tests share: an SQS client, and the event source mappings a test
creates, deleted after it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import NimbusServer


@pytest.fixture(scope="module")
def sqs(server: NimbusServer) -> Any:
    return server.client("sqs")


@pytest.fixture
def mappings(lam: Any) -> Iterator[list[str]]:
    """UUIDs of mappings a test creates, deleted after it (their pollers stop)."""
    created: list[str] = []
    yield created
    for uuid_ in created:
        with contextlib.suppress(ClientError):
            lam.delete_event_source_mapping(UUID=uuid_)
