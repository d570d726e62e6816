"""EventBridge's buses, rules and targets in the SQL store: one row each, its settings one
JSON document. Writes are a user's API calls (rare), each its own transaction committed
before the API answers; deleting a rule deletes its targets, a bus its rules, in the same
transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.eventbridge import EventBus, InputTransformer, RetryPolicy, Rule, Target
from nimbus.store.schema import event_buses as buses
from nimbus.store.schema import event_rules as rules
from nimbus.store.schema import event_targets as targets


def _known(cls: type[Any], doc: Mapping[str, Any]) -> dict[str, Any]:
    """``doc``'s members ``cls`` has (a document a newer Nimbus wrote may have more)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in doc.items() if key in names}


def _dump(value: EventBus | Rule | Target) -> str:
    return orjson.dumps(dataclasses.asdict(value)).decode()


def load_target(text: str) -> Target:
    doc = _known(Target, orjson.loads(text))
    transformer = doc.pop("input_transformer", None)
    retry = doc.pop("retry_policy", None)
    return Target(
        **doc,
        input_transformer=None
        if transformer is None
        else InputTransformer(**_known(InputTransformer, transformer)),
        retry_policy=None if retry is None else RetryPolicy(**_known(RetryPolicy, retry)),
    )


class EventBridgeRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def load(self) -> tuple[list[EventBus], list[Rule], list[tuple[str, str, Target]]]:
        """Every bus, rule and (bus, rule, target)."""
        async with self._engine.connect() as conn:
            bus_rows = (await conn.execute(sa.select(buses))).all()
            rule_rows = (await conn.execute(sa.select(rules))).all()
            target_rows = (await conn.execute(sa.select(targets))).all()
        return (
            [EventBus(**_known(EventBus, orjson.loads(r.config))) for r in bus_rows],
            [Rule(**_known(Rule, orjson.loads(r.config))) for r in rule_rows],
            [(r.bus, r.rule, load_target(r.config)) for r in target_rows],
        )

    async def put_bus(self, bus: EventBus) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(buses.delete().where(buses.c.name == bus.name))
            await conn.execute(buses.insert().values(name=bus.name, config=_dump(bus)))

    async def delete_bus(self, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(targets.delete().where(targets.c.bus == name))
            await conn.execute(rules.delete().where(rules.c.bus == name))
            await conn.execute(buses.delete().where(buses.c.name == name))

    async def put_rule(self, rule: Rule) -> None:
        key = (rules.c.bus == rule.bus) & (rules.c.name == rule.name)
        async with self._engine.begin() as conn:
            await conn.execute(rules.delete().where(key))
            await conn.execute(
                rules.insert().values(bus=rule.bus, name=rule.name, config=_dump(rule))
            )

    async def delete_rule(self, bus: str, name: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                targets.delete().where((targets.c.bus == bus) & (targets.c.rule == name))
            )
            await conn.execute(rules.delete().where((rules.c.bus == bus) & (rules.c.name == name)))

    async def put_targets(self, bus: str, rule: str, put: list[Target]) -> None:
        """Insert or replace these targets of one rule."""
        if not put:
            return
        of_rule = (targets.c.bus == bus) & (targets.c.rule == rule)
        async with self._engine.begin() as conn:
            await conn.execute(
                targets.delete().where(of_rule & targets.c.target_id.in_([t.id for t in put]))
            )
            await conn.execute(
                targets.insert(),
                [{"bus": bus, "rule": rule, "target_id": t.id, "config": _dump(t)} for t in put],
            )

    async def delete_targets(self, bus: str, rule: str, ids: list[str]) -> None:
        if not ids:
            return
        async with self._engine.begin() as conn:
            await conn.execute(
                targets.delete().where(
                    (targets.c.bus == bus) & (targets.c.rule == rule) & targets.c.target_id.in_(ids)
                )
            )
