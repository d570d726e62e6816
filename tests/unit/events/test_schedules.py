"""EventBridge Scheduler's service over a real (temporary SQLite) store, the real timer and a
manual clock, with recording targets: what fires, when, how often, across restarts, and what
deletes itself. A "restart" is a new timer and service over the same store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.errors import (
    ConflictError,
    NimbusError,
    ResourceNotFoundError,
    TooManyRequestsError,
    ValidationError,
)
from nimbus.events.schedule_delivery import ScheduleDelivery
from nimbus.events.schedules import ScheduleService
from nimbus.events.timer import Timer
from nimbus.model.invoke import InvokeCall
from nimbus.model.queue import MessageAttribute
from nimbus.model.schedule import RetryPolicy, ScheduleConfig, ScheduleSettings, ScheduleTarget
from nimbus.store.database import open_engine
from nimbus.store.schedules import ScheduleRepository
from nimbus.store.timers import TimerRepository
from nimbus.testing.clock import ManualClock

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
REGION, ACCOUNT = "us-east-1", "000000000000"
FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:fn"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:q"
DLQ = f"arn:aws:sqs:{REGION}:{ACCOUNT}:dlq"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/scheduler"


class Targets:
    """Records what the schedules deliver; ``accept`` fails with ``failure`` when set."""

    def __init__(self) -> None:
        self.calls: list[InvokeCall] = []
        self.sent: list[tuple[str, str, Mapping[str, MessageAttribute]]] = []
        self.failure: NimbusError | None = None

    async def accept(self, call: InvokeCall) -> str:
        self.calls.append(call)
        if self.failure is not None:
            raise self.failure
        return "request-id"

    async def send_to_arn(
        self,
        arn: str,
        body: str,
        attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        trace_header: str | None = None,
    ) -> str:
        self.sent.append((arn, body, attributes or {}))
        return "message-id"

    async def publish(self, topic_arn: str, message: str, **_: object) -> str:
        self.sent.append((topic_arn, message, {}))
        return "message-id"


class Node:
    def __init__(self, engine: AsyncEngine, clock: ManualClock, targets: Targets) -> None:
        self.timer = Timer(fired=TimerRepository(engine), clock=clock, random=_Zero())
        self.delivery = ScheduleDelivery(
            accept=targets.accept, queues=targets, topics=targets, clock=clock
        )
        self.service = ScheduleService(
            repo=ScheduleRepository(engine),
            timer=self.timer,
            delivery=self.delivery,
            clock=clock,
            region=REGION,
            account_id=ACCOUNT,
        )

    async def close(self) -> None:
        await self.timer.close()
        await self.delivery.close()


class _Zero:
    def random(self) -> float:
        return 0.0


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    yield engine
    await engine.dispose()


async def _node(engine: AsyncEngine, clock: ManualClock, targets: Targets) -> Node:
    node = Node(engine, clock, targets)
    await node.service.load()
    return node


async def _run(node: Node, clock: ManualClock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1)
        await node.timer.tick()
        await asyncio.sleep(0)  # let background retries take their turn


def _settings(expression: str, **kw: object) -> ScheduleSettings:
    target = ScheduleTarget(arn=str(kw.pop("arn", FN)), role_arn=ROLE, input='{"n": 1}')
    return replace(ScheduleSettings(expression=expression, target=target), **kw)  # type: ignore[arg-type]


async def test_a_one_time_schedule_fires_once_with_its_input_and_deletes_itself(
    engine: AsyncEngine,
) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    await node.service.create(
        "default", "once", _settings("at(2026-01-01T00:01:00)", after_completion="DELETE")
    )
    await _run(node, clock, 59)
    assert targets.calls == []
    await _run(node, clock, 120)
    assert [(c.function_name, c.payload, c.invocation_type) for c in targets.calls] == [
        ("fn", b'{"n": 1}', "Event")  # the Input as is, invoked asynchronously
    ]
    with pytest.raises(ResourceNotFoundError, match="Schedule once does not exist"):
        node.service.get("default", "once")
    await node.close()


async def test_a_one_time_schedule_without_delete_stays_and_never_fires_again(
    engine: AsyncEngine,
) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    await node.service.create("default", "once", _settings("at(2026-01-01T00:00:30)"))
    await _run(node, clock, 60)
    await node.close()
    node = await _node(engine, clock, targets)  # a restart does not fire it again
    await _run(node, clock, 60)
    assert len(targets.calls) == 1
    assert node.service.get("default", "once").settings.state == "ENABLED"
    await node.close()


async def test_a_restart_neither_repeats_nor_replays_ticks(engine: AsyncEngine) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    await node.service.create("default", "every", _settings("rate(5 minutes)", arn=QUEUE))
    await node.service.create("default", "later", _settings("at(2026-01-01T02:00:00)"))
    await _run(node, clock, 301)  # fires at creation (no StartDate) and 5 minutes later
    assert [arn for arn, _, _ in targets.sent] == [QUEUE, QUEUE]
    await node.close()
    # Down three hours and two minutes: 36 ticks missed (the last two minutes ago, more than
    # the one minute late a tick may still fire), and the at() passed.
    clock.advance(3 * 3600 + 120)
    node = await _node(engine, clock, targets)
    await node.timer.tick()
    assert len(targets.sent) == 2  # none of the rate's ticks replayed...
    assert len(targets.calls) == 1  # ...but the one-time schedule fires once, late
    await _run(node, clock, 300)
    assert len(targets.sent) == 3  # and the rate goes on
    await node.close()


async def test_a_disabled_schedule_fires_nothing_until_enabled(engine: AsyncEngine) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    await node.service.create("default", "c", _settings("cron(*/2 * * * ? *)", state="DISABLED"))
    await _run(node, clock, 300)
    assert targets.calls == []
    await node.service.update("default", "c", _settings("cron(*/2 * * * ? *)"))
    await _run(node, clock, 240)
    assert len(targets.calls) == 2
    await node.close()


async def test_groups_scope_names_and_deleting_one_deletes_its_schedules(
    engine: AsyncEngine,
) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    with pytest.raises(ResourceNotFoundError, match="Schedule group team does not exist"):
        await node.service.create("team", "s", _settings("rate(1 minute)"))
    await node.service.create_group("team")
    with pytest.raises(ConflictError, match="Schedule group team already exists"):
        await node.service.create_group("team")
    await node.service.create("team", "s", _settings("rate(1 minute)"))
    await node.service.create("default", "s", _settings("rate(1 hour)", state="DISABLED"))
    with pytest.raises(ConflictError, match="Schedule s already exists"):
        await node.service.create("team", "s", _settings("rate(1 minute)"))
    await node.service.delete_group("team")
    with pytest.raises(ResourceNotFoundError):
        node.service.get("team", "s")
    assert node.service.get("default", "s").name == "s"
    await _run(node, clock, 120)
    assert targets.calls == []  # its timer went with it
    with pytest.raises(ValidationError, match="default schedule group cannot be deleted"):
        await node.service.delete_group("default")
    await node.close()


async def test_listing_filters_and_survives_a_restart(engine: AsyncEngine) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    await node.service.create_group("team")
    for name in ("b", "a2", "a1", "c"):
        state = "DISABLED" if name == "c" else "ENABLED"
        await node.service.create("default", name, _settings("rate(1 day)", state=state))
    await node.service.create("team", "a0", _settings("rate(1 day)"))
    await node.close()
    node = await _node(engine, clock, targets)
    every = node.service.list_schedules(group=None, prefix=None, state=None)
    assert [(s.group, s.name) for s in every] == [
        ("default", "a1"),
        ("default", "a2"),
        ("default", "b"),
        ("default", "c"),
        ("team", "a0"),
    ]
    found = node.service.list_schedules(group="default", prefix="a", state="ENABLED")
    assert [s.name for s in found] == ["a1", "a2"]
    assert [g.name for g in node.service.list_groups(prefix=None)] == ["default", "team"]
    assert [g.name for g in node.service.list_groups(prefix="t")] == ["team"]
    with pytest.raises(ResourceNotFoundError):
        node.service.list_schedules(group="nope", prefix=None, state=None)
    await node.close()


async def test_invalid_settings_are_refused_with_what_to_fix(engine: AsyncEngine) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    cases = [
        (_settings("cron(0 12 * * * *)"), "must be '?'"),
        (_settings("rate(1 minute)", timezone="Nowhere/Town"), "IANA time zone"),
        (_settings("rate(1 minute)", start_date=T0 + 60, end_date=T0 + 30), "later than"),
        (_settings("rate(1 minute)", end_date=T0 - 1), "must be in the future"),
        (_settings("at(2025-12-31T23:59:00)"), "one-time schedule must be in the future"),
        (_settings("rate(1 minute)", arn="arn:aws:ecs:us-east-1:000000000000:cluster/x"),
         "Lambda functions, SQS queues and SNS topics"),
        (_settings("rate(1 minute)", arn="arn:aws:sqs:eu-west-1:000000000000:q"),
         "region us-east-1"),
        (_settings("rate(1 minute)", arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:a:b:c"),
         "function:<name>"),
        # Nimbus's one partition: a queue is found by name, so another would reach it.
        (_settings("rate(1 minute)", arn=f"arn:aws-cn:sqs:{REGION}:{ACCOUNT}:q"),
         "partition aws"),
        (_settings("rate(1 minute)", arn=f"arn:aws-x:lambda:{REGION}:{ACCOUNT}:function:fn"),
         "partition aws"),
        (_settings("rate(1 minute)", target=ScheduleTarget(
            arn=QUEUE, role_arn=ROLE, dead_letter_arn=f"arn:aws-x:sqs:{REGION}:{ACCOUNT}:dlq")),
         "DeadLetterConfig.Arn .* partition aws"),
        (_settings("rate(1 minute)", target=ScheduleTarget(
            arn=QUEUE, role_arn=ROLE, dead_letter_arn=f"arn:aws:sqs:eu-west-1:{ACCOUNT}:dlq")),
         "dead-letter queue must be in region us-east-1"),
        (_settings("rate(1 minute)", target=ScheduleTarget(
            arn=QUEUE, role_arn=f"arn:aws-cn:iam::{ACCOUNT}:role/r")),
         "RoleArn .* partition aws"),
        # Dates a schedule can never reach, whose first tick would overflow a date.
        (_settings("cron(0 12 * * ? *)", start_date=253_402_318_799.0),  # 9999-12-31T23:59:59-05
         "StartDate .* between 1970-01-01T00:00:00Z and 2199-12-31T23:59:59Z"),
        (_settings("cron(0 12 * * ? *)", start_date=1e12), "StartDate"),
        (_settings("rate(1 minute)", end_date=1e20), "EndDate"),
        (_settings("rate(1 minute)", start_date=-1.0), "StartDate"),
        (_settings("at(9999-12-31T23:59:59)"), "the year must be 1970-2199"),
    ]  # fmt: skip
    for settings, says in cases:
        with pytest.raises(ValidationError, match=says):
            await node.service.create("default", "bad", settings)
        with pytest.raises(ResourceNotFoundError):  # nothing was stored
            node.service.get("default", "bad")
    await node.service.create("default", "good", _settings("rate(1 minute)"))
    for settings, says in cases:  # nor is an update
        with pytest.raises(ValidationError, match=says):
            await node.service.update("default", "good", settings)
    assert node.service.get("default", "good").settings == _settings("rate(1 minute)")
    await node.close()


async def test_a_stored_schedule_that_cannot_be_armed_is_skipped_not_fatal(
    engine: AsyncEngine,
) -> None:
    """One written by a version whose checks were looser (a StartDate past year 9999 was
    taken, and its first tick overflowed a date): the node still starts and runs the
    others."""
    clock, targets = ManualClock(T0), Targets()
    repo = ScheduleRepository(engine)
    broken = ScheduleConfig(
        group="default",
        name="broken",
        settings=_settings("cron(0 12 * * ? *)", start_date=253_402_318_799.0),
        created=T0,
        modified=T0,
    )
    node = await _node(engine, clock, targets)
    await node.service.create("default", "fine", _settings("rate(1 minute)"))
    await node.close()
    await repo.put(broken)
    node = await _node(engine, clock, targets)  # load() does not raise
    assert node.service.get("default", "broken") == broken  # kept and shown, not run
    await _run(node, clock, 60)
    assert len(targets.calls) == 2  # "fine" fired at creation and a minute later
    await node.close()
    # Nor does arming that fails otherwise (its row of the store unreadable, say).
    node = Node(engine, clock, targets)
    node.timer = Timer(fired=_Unreadable(TimerRepository(engine)), clock=clock, random=_Zero())
    node.service = ScheduleService(
        repo=repo,
        timer=node.timer,
        delivery=node.delivery,
        clock=clock,
        region=REGION,
        account_id=ACCOUNT,
    )
    await node.service.load()
    await _run(node, clock, 60)
    assert len(targets.calls) == 3
    await node.close()


class _Unreadable:
    """A FiredLog whose row of the schedule "broken" cannot be read."""

    def __init__(self, repo: TimerRepository) -> None:
        self._repo = repo

    async def last_fired(self, key: str) -> float | None:
        if key.endswith("/broken"):
            raise OSError("disk I/O error")
        return await self._repo.last_fired(key)

    async def record(self, key: str, tick: float) -> bool:
        return await self._repo.record(key, tick)

    async def forget(self, key: str) -> None:
        await self._repo.forget(key)


async def test_a_failed_delivery_is_retried_then_dead_lettered(engine: AsyncEngine) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    targets.failure = TooManyRequestsError("Rate Exceeded.")
    target = ScheduleTarget(
        arn=FN,
        role_arn=ROLE,
        input="payload",
        retry=RetryPolicy(maximum_retry_attempts=2),
        dead_letter_arn=DLQ,
    )
    settings = ScheduleSettings(expression="at(2026-01-01T00:00:10)", target=target)
    await node.service.create("default", "flaky", settings)
    await _run(node, clock, 10)
    for _ in range(50):
        if targets.sent:
            break
        await _run(node, clock, 1)
    assert len(targets.calls) == 3  # the attempt and two retries
    ((arn, body, attributes),) = targets.sent
    values = {k: v.string_value for k, v in attributes.items()}
    assert (arn, body) == (DLQ, "payload")
    assert values["ERROR_CODE"] == "TooManyRequestsException"
    assert values["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert values["RETRY_ATTEMPTS"] == "2"
    assert values["SCHEDULE_ARN"] == f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/flaky"
    assert values["TARGET_ARN"] == FN
    assert values["SCHEDULED_TIME"] == "2026-01-01T00:00:10Z"
    await node.close()


async def test_a_missing_target_goes_to_the_dead_letter_queue_without_retries(
    engine: AsyncEngine,
) -> None:
    clock, targets = ManualClock(T0), Targets()
    node = await _node(engine, clock, targets)
    targets.failure = ResourceNotFoundError("Function not found: fn")
    target = ScheduleTarget(arn=FN, role_arn=ROLE, dead_letter_arn=DLQ)
    await node.service.create(
        "default", "gone", ScheduleSettings(expression="at(2026-01-01T00:00:05)", target=target)
    )
    await _run(node, clock, 5)
    for _ in range(10):
        if targets.sent:
            break
        await _run(node, clock, 1)
    assert len(targets.calls) == 1
    ((_, body, attributes),) = targets.sent
    assert body == "{}"  # no Input: an empty JSON object
    assert attributes["RETRY_ATTEMPTS"].string_value == "0"
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes
    await node.close()
