"""EventBridge rules over a real (temporary SQLite) store, routed and fired on a manual clock:
PutEvents matching, a rate rule's Scheduled Event a period after PutRule and each period on,
disabled and deleted rules silent, no tick twice across a restart, the target limit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.auth.authorizer import Authorizer
from nimbus.errors import EventsResourceNotFoundError, LimitExceededError
from nimbus.events.buses import BusService
from nimbus.events.delivery import TargetDelivery
from nimbus.events.router import EventRouter
from nimbus.events.rule_schedules import RuleSchedules
from nimbus.events.rules import RuleService
from nimbus.events.timer import Timer
from nimbus.model.arn import Arns
from nimbus.model.eventbridge import PutEventsEntry, RuleRequest, Target
from nimbus.store.database import open_engine
from nimbus.store.eventbridge import EventBridgeRepository
from nimbus.store.timers import TimerRepository
from nimbus.testing.acceptor import FakeEventAcceptor
from nimbus.testing.clock import ManualClock
from nimbus.testing.outbox import Outbox
from nimbus.testing.policy_sources import FakeIdentityPolicies, FakeResourcePolicies

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
Q = "arn:aws:sqs:us-east-1:000000000000:q"
RULE_ARN = "arn:aws:events:us-east-1:000000000000:rule/every-minute"


class Zero:
    def random(self) -> float:
        return 0.0


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield engine
    await engine.dispose()


class Node:
    """The EventBridge stage as ``node/eventbridge.py`` builds it, over fakes for the rest."""

    def __init__(self, engine: AsyncEngine, clock: ManualClock, outbox: Outbox) -> None:
        self.engine, self.clock, self.outbox = engine, clock, outbox
        self.timer = Timer(fired=TimerRepository(engine), clock=clock, random=Zero())

    async def start(self) -> Node:
        repo = EventBridgeRepository(self.engine)
        stored_buses, stored_rules, stored_targets = await repo.load()
        self.buses = BusService(
            repo=repo, clock=self.clock, region="us-east-1", account="000000000000"
        )
        await self.buses.load(stored_buses)
        self.rules = RuleService(repo=repo, buses=self.buses, clock=self.clock)
        self.rules.load(stored_rules, stored_targets)
        self.buses.on_delete(self.rules.bus_deleted)

        async def resolve(name: str, qualifier: str | None) -> object:
            return object()

        delivery = TargetDelivery(
            accept=FakeEventAcceptor().accept,
            resolve=resolve,
            queues=self.outbox,
            topics=self.outbox,
            authorizer=Authorizer(FakeIdentityPolicies(), FakeResourcePolicies(), clock=self.clock),
            arns=Arns(region="us-east-1", account="000000000000"),
            clock=self.clock,
        )
        self.router = EventRouter(
            buses=self.buses, rules=self.rules, delivery=delivery, clock=self.clock
        )
        self.schedules = RuleSchedules(timer=self.timer, rules=self.rules, router=self.router)
        await self.schedules.load()
        return self

    async def run(self, seconds: int) -> None:
        for _ in range(seconds):
            self.clock.advance(1)
            await self.timer.tick()
        await asyncio.sleep(0)

    def fired(self) -> list[dict[str, Any]]:
        return [orjson.loads(s.body) for s in self.outbox.to(Q)]


async def test_a_rate_rule_fires_a_period_after_put_rule_then_each_period(
    engine: AsyncEngine,
) -> None:
    node = await Node(engine, ManualClock(T0), Outbox()).start()
    await node.rules.put_rule(
        RuleRequest(bus="default", name="every-minute", schedule_expression="rate(1 minute)")
    )
    await node.rules.put_targets("default", "every-minute", [Target(id="q", arn=Q)])
    await node.run(59)
    assert node.fired() == []
    await node.run(1)
    [event] = node.fired()
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event"
    assert event["resources"] == [RULE_ARN] and event["detail"] == {}
    assert event["time"] == "2026-01-01T00:01:00Z"
    await node.run(120)
    assert [e["time"][14:16] for e in node.fired()] == ["01", "02", "03"]

    await node.rules.set_state("default", "every-minute", "DISABLED")
    await node.run(150)
    assert len(node.fired()) == 3
    await node.rules.set_state("default", "every-minute", "ENABLED")  # at 00:05:30
    await node.run(30)
    # 00:04 and 00:05 passed while it was disabled: not caught up; 00:06 fires.
    assert [e["time"][14:16] for e in node.fired()] == ["01", "02", "03", "06"]
    await node.rules.delete("default", "every-minute", force=True)
    await node.run(120)
    assert len(node.fired()) == 4


async def test_a_restart_never_repeats_a_tick(engine: AsyncEngine) -> None:
    clock, outbox = ManualClock(T0), Outbox()
    first = await Node(engine, clock, outbox).start()
    await first.rules.put_rule(
        RuleRequest(bus="default", name="every-minute", schedule_expression="rate(1 minute)")
    )
    await first.rules.put_targets("default", "every-minute", [Target(id="q", arn=Q)])
    await first.run(60)
    await first.schedules.close()
    await first.timer.close()
    second = await Node(engine, clock, outbox).start()  # same second: tick 60 is written down
    await second.timer.tick()
    await second.run(60)
    assert [e["time"] for e in second.fired()] == [
        "2026-01-01T00:01:00Z",
        "2026-01-01T00:02:00Z",
    ]


async def test_put_events_reaches_the_rules_it_matches(engine: AsyncEngine) -> None:
    node = await Node(engine, ManualClock(T0), Outbox()).start()
    await node.buses.create("orders", None)
    await node.rules.put_rule(
        RuleRequest(
            bus="orders", name="big", event_pattern='{"detail": {"n": [{"numeric": [">", 5]}]}}'
        )
    )
    await node.rules.put_rule(
        RuleRequest(bus="default", name="every-minute", schedule_expression="rate(1 minute)")
    )
    await node.rules.put_targets("orders", "big", [Target(id="q", arn=Q)])
    await node.rules.put_targets("default", "every-minute", [Target(id="q", arn=Q)])
    results = await node.router.put_events(
        [
            PutEventsEntry(source="s", detail_type="d", detail='{"n": 9}', bus="orders"),
            PutEventsEntry(source="s", detail_type="d", detail='{"n": 1}', bus="orders"),
            PutEventsEntry(source="s", detail_type="d", detail='{"n": 9}'),  # default bus
            PutEventsEntry(source="s", detail_type="d", detail='{"n": 9}', bus="nowhere"),
        ]
    )
    assert all(r.event_id for r in results)  # a missing bus is accepted, delivered nowhere
    assert [e["id"] for e in node.fired()] == [results[0].event_id]
    await node.buses.delete("orders")
    with pytest.raises(EventsResourceNotFoundError):
        node.rules.describe("orders", "big")


async def test_a_rule_holds_five_targets(engine: AsyncEngine) -> None:
    node = await Node(engine, ManualClock(T0), Outbox()).start()
    await node.rules.put_rule(RuleRequest(bus="default", name="r", event_pattern='{"a": [1]}'))
    five = [Target(id=f"t{i}", arn=Q) for i in range(5)]
    assert await node.rules.put_targets("default", "r", five) == []
    assert await node.rules.put_targets("default", "r", five[:2]) == []  # replaced, not added
    with pytest.raises(LimitExceededError):
        await node.rules.put_targets("default", "r", [Target(id="t6", arn=Q)])
    assert [t.id for t in node.rules.targets("default", "r")] == [t.id for t in five]
