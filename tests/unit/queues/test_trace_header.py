"""The built-in queue service keeps a message's AWSTraceHeader: in memory, in the store (it
survives a restart) and through a redrive to the dead-letter queue."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.queue import SendRequest
from nimbus.queues.service import QueueService
from nimbus.store.database import open_engine
from nimbus.store.group_commit import GroupCommit
from nimbus.store.queues import QueueRepository
from nimbus.testing.clock import ManualClock

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a87bd80c:3"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, GroupCommit]]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    commit = GroupCommit(engine)
    commit.start()
    yield engine, commit
    await commit.close()
    await engine.dispose()


async def service(store: tuple[AsyncEngine, GroupCommit], clock: ManualClock) -> QueueService:
    engine, commit = store
    queues = QueueService(
        repo=QueueRepository(engine),
        commit=commit,
        clock=clock,
        endpoint_url="http://nimbus",
        region="us-east-1",
        account_id="000000000000",
    )
    await queues.load()
    return queues


async def test_the_trace_header_survives_a_restart_and_a_redrive(
    store: tuple[AsyncEngine, GroupCommit],
) -> None:
    clock = ManualClock()
    queues = await service(store, clock)
    await queues.create_queue("dlq", {}, {})
    redrive = json.dumps({"deadLetterTargetArn": queues.arn("dlq"), "maxReceiveCount": 1})
    await queues.create_queue("jobs", {"RedrivePolicy": redrive}, {})
    await queues.send("jobs", [SendRequest(body="traced", trace_header=TRACE)])
    await queues.send_to_arn(queues.arn("jobs"), "plain")

    restarted = await service(store, clock)
    got = await restarted.receive("jobs", max_messages=10, visibility_timeout=1, wait_s=0)
    headers = {m.body: m.system_attributes.get("AWSTraceHeader") for m in got}
    assert headers == {"traced": TRACE, "plain": None}

    clock.advance(2)  # received once = maxReceiveCount: the next receive moves them
    assert await restarted.receive("jobs", max_messages=10, wait_s=0) == []
    moved = await restarted.receive("dlq", max_messages=10, wait_s=0)
    assert {m.body: m.system_attributes.get("AWSTraceHeader") for m in moved} == headers
