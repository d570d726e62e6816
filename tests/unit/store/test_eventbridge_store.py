"""EventBridge's buses, rules and targets survive a reopen of the store whole (every setting
of a target), and go with their rule or bus."""

from __future__ import annotations

from pathlib import Path

from nimbus.model.eventbridge import EventBus, InputTransformer, RetryPolicy, Rule, Target
from nimbus.store.database import open_engine
from nimbus.store.eventbridge import EventBridgeRepository

TARGET = Target(
    id="t",
    arn="arn:aws:sqs:us-east-1:000000000000:q",
    role_arn="arn:aws:iam::000000000000:role/r",
    input_transformer=InputTransformer(template='{"a": <a>}', paths={"a": "$.detail.a"}),
    retry_policy=RetryPolicy(maximum_retry_attempts=3),
    dead_letter_arn="arn:aws:sqs:us-east-1:000000000000:dlq",
    added_at=12.5,
)


async def test_a_reopened_store_has_every_setting(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}"
    engine = await open_engine(url)
    repo = EventBridgeRepository(engine)
    bus = EventBus(name="orders", description="d", created_at=1.0, modified_at=2.0)
    rule = Rule(
        bus="orders",
        name="r",
        event_pattern='{"a": [1]}',
        state="DISABLED",
        description="x",
        created_at=3.0,
        modified_at=4.0,
    )
    await repo.put_bus(bus)
    await repo.put_rule(rule)
    await repo.put_targets("orders", "r", [TARGET, Target(id="u", arn=TARGET.arn, input="{}")])
    await repo.delete_targets("orders", "r", ["u"])
    await engine.dispose()

    engine = await open_engine(url)
    repo = EventBridgeRepository(engine)
    assert await repo.load() == ([bus], [rule], [("orders", "r", TARGET)])
    await repo.delete_bus("orders")
    assert await repo.load() == ([], [], [])
    await engine.dispose()
