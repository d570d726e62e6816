"""The poller over a real (temporary SQLite) store, a fake invoker and a manual clock: what
happens to one event across attempts, with AWS's real delays compressed by the clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest

from nimbus.errors import RecursiveInvocationError, TooManyRequestsError
from nimbus.events import lineage
from nimbus.events.destinations import Destinations
from nimbus.events.inbox import EventInbox
from nimbus.events.policy import RetrySettings
from nimbus.events.poller import EventPoller
from nimbus.model.arn import Arns
from nimbus.model.async_event import AsyncEvent
from nimbus.model.event_config import EffectiveEventConfig
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.model.queue import MessageAttribute
from nimbus.store.async_events import AsyncEventRepository
from nimbus.store.database import open_engine
from nimbus.store.group_commit import GroupCommit
from nimbus.testing.clock import ManualClock
from nimbus.testing.invoker import FakeInvoker, fail, succeed

SUCCESS_Q = "arn:aws:sqs:us-east-1:000000000000:ok"
FAILURE_Q = "arn:aws:sqs:us-east-1:000000000000:failed"
DLQ = "arn:aws:sqs:us-east-1:000000000000:dlq"


class Sent:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict[str, Any], Mapping[str, MessageAttribute]]] = []
        self.traces: list[str | None] = []  # each message's AWSTraceHeader

    async def send_to_arn(
        self,
        arn: str,
        body: str,
        attributes: Mapping[str, MessageAttribute] | None = None,
        *,
        trace_header: str | None = None,
    ) -> str:
        self.messages.append((arn, orjson.loads(body), attributes or {}))
        self.traces.append(trace_header)
        return "id"

    async def publish(self, topic_arn: str, message: str, **_kw: Any) -> str:
        raise AssertionError("no topics here")


class Configs:
    def __init__(self, config: EffectiveEventConfig) -> None:
        self.config = config

    def effective(self, function: str, qualifier: str | None) -> EffectiveEventConfig:
        return self.config


class Reservations:
    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def reserved(self, name: str) -> int | None:
        return self.values.get(name)


class Rig:
    def __init__(self, repo: AsyncEventRepository, commit: GroupCommit) -> None:
        self.repo = repo
        self.commit = commit
        self.clock = ManualClock()
        self.sent = Sent()
        self.invoker = FakeInvoker()
        self.configs = Configs(EffectiveEventConfig(on_success=SUCCESS_Q, on_failure=FAILURE_Q))
        self.reservations = Reservations()

        async def accept(call: InvokeCall) -> str:
            raise AssertionError("no function destinations here")

        async def dead_letter(name: str, qualifier: str | None) -> str | None:
            return DLQ

        self.poller = EventPoller(
            repo=repo,
            commit=commit,
            invoker=self.invoker,
            configs=self.configs,
            reservations=self.reservations,
            destinations=Destinations(queues=self.sent, topics=self.sent, accept=accept),
            dead_letter=dead_letter,
            arns=Arns(region="us-east-1", account="000000000000"),
            retry=RetrySettings(),
            clock=self.clock,
            inbox=EventInbox(capacity=16, lease_s=900),
        )

    async def enqueue(
        self, payload: bytes = b'{"n": 1}', trace_header: str | None = None
    ) -> AsyncEvent:
        now = self.clock.now()
        event = AsyncEvent(
            id="req-1",
            function="fn",
            qualifier=None,
            payload=payload,
            enqueued_at=now,
            next_attempt_at=now,
            trace_header=trace_header,
        )
        await self.commit.write(self.repo.insert(event, claimed_by=None, claim_expires_at=0.0))
        return event

    async def run_due(self) -> int:
        """Claim and process whatever is due now; returns how many ran."""
        claimed = await self.repo.claim(node="n", now=self.clock.now(), lease_s=900, limit=10)
        for event in claimed:
            await self.poller.process(event)
        return len(claimed)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    engine = await open_engine(f"sqlite+aiosqlite:///{tmp_path / 'nimbus.db'}")
    commit = GroupCommit(engine)
    commit.start()
    yield Rig(AsyncEventRepository(engine), commit)
    await commit.close()
    await engine.dispose()


async def test_success_sends_a_success_record_and_acknowledges(rig: Rig) -> None:
    rig.invoker.script = succeed
    await rig.enqueue()
    assert await rig.run_due() == 1
    [(arn, record, _)] = rig.sent.messages
    assert arn == SUCCESS_Q
    assert record["version"] == "1.0"
    assert record["requestContext"] == {
        "requestId": "req-1",
        "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"n": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"] == {"ok": True}
    assert await rig.repo.count() == 0


async def test_function_error_is_retried_after_60_then_120_s_then_fails(rig: Rig) -> None:
    rig.invoker.script = fail
    await rig.enqueue()
    assert await rig.run_due() == 1
    rig.clock.advance(59)
    assert await rig.run_due() == 0  # not yet
    rig.clock.advance(1)
    assert await rig.run_due() == 1
    rig.clock.advance(119)
    assert await rig.run_due() == 0
    rig.clock.advance(1)
    assert await rig.run_due() == 1
    assert len(rig.invoker.calls) == 3
    assert {c.request_id for c in rig.invoker.calls} == {"req-1"}
    assert {c.invocation_type for c in rig.invoker.calls} == {"Event"}
    (arn, record, _), (dlq_arn, dlq_body, attributes) = rig.sent.messages
    assert arn == FAILURE_Q
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "boom"
    # The dead-letter queue gets the original event, with Lambda's attributes.
    assert dlq_arn == DLQ
    assert dlq_body == {"n": 1}
    assert attributes["RequestID"].string_value == "req-1"
    assert attributes["ErrorCode"].string_value == "200"
    assert attributes["ErrorMessage"].string_value == "boom"
    assert await rig.repo.count() == 0


async def test_throttles_spend_no_attempt_and_age_out(rig: Rig) -> None:
    rig.configs.config = EffectiveEventConfig(maximum_event_age_s=60, on_failure=FAILURE_Q)
    rig.invoker.script = lambda call: TooManyRequestsError("Rate exceeded", Reason="x")
    await rig.enqueue()
    waits = []
    while await rig.run_due():
        due = await rig.repo.next_due()
        if due is None:
            break
        waits.append(round(due - rig.clock.now()))
        rig.clock.advance(due - rig.clock.now())
    assert waits == [1, 2, 4, 8, 16]  # the next, 32 s later, would be past 60 s
    [(_arn, record, _)] = [m for m in rig.sent.messages if m[0] == FAILURE_Q]
    assert record["requestContext"]["condition"] == "EventAgeExceeded"
    assert record["requestContext"]["approximateInvokeCount"] == 0
    assert "responseContext" not in record
    assert await rig.repo.count() == 0


async def test_reserved_concurrency_zero_goes_to_on_failure_and_dlq_at_once(rig: Rig) -> None:
    rig.reservations.values["fn"] = 0
    # What the invoker answers for a function reserved at 0.
    rig.invoker.script = lambda call: TooManyRequestsError(
        "Rate Exceeded.", Reason="ReservedFunctionConcurrentInvocationLimitExceeded"
    )
    await rig.enqueue()
    assert await rig.run_due() == 1
    assert len(rig.invoker.calls) == 1  # no retry was scheduled
    assert await rig.repo.count() == 0
    (arn, record, _), (dlq_arn, dlq_body, attributes) = rig.sent.messages
    assert arn == FAILURE_Q
    assert record["requestContext"] == {
        "requestId": "req-1",
        "functionArn": "arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST",
        "condition": "ZeroReservedConcurrency",
        "approximateInvokeCount": 0,
    }
    assert record["requestPayload"] == {"n": 1}
    assert "responseContext" not in record and "responsePayload" not in record
    assert (dlq_arn, dlq_body) == (DLQ, {"n": 1})
    assert attributes["ErrorCode"].string_value == "429"


async def test_a_reservation_of_one_throttles_with_back_off(rig: Rig) -> None:
    rig.reservations.values["fn"] = 1  # busy, not disabled: retried
    rig.invoker.script = lambda call: TooManyRequestsError("Rate Exceeded.", Reason="x")
    await rig.enqueue()
    assert await rig.run_due() == 1
    assert rig.sent.messages == []
    assert await rig.repo.count() == 1


async def test_an_event_older_than_its_maximum_age_is_not_invoked(rig: Rig) -> None:
    rig.configs.config = EffectiveEventConfig(maximum_event_age_s=60, on_failure=FAILURE_Q)
    await rig.enqueue()
    rig.clock.advance(61)
    assert await rig.run_due() == 1
    assert rig.invoker.calls == []
    assert rig.sent.messages[0][1]["requestContext"]["condition"] == "EventAgeExceeded"


async def test_an_expired_claim_is_claimed_again(rig: Rig) -> None:
    await rig.enqueue()
    first = await rig.repo.claim(node="a", now=rig.clock.now(), lease_s=30, limit=10)
    assert [e.id for e in first] == ["req-1"]
    assert await rig.repo.claim(node="b", now=rig.clock.now(), lease_s=30, limit=10) == []
    rig.clock.advance(31)  # node a died mid-invoke
    again = await rig.repo.claim(node="b", now=rig.clock.now(), lease_s=30, limit=10)
    assert [e.id for e in again] == ["req-1"]


# --- trace headers: a loop through a destination or a DLQ is counted too -------------------

INCOMING = "Root=1-aaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbb;Sampled=0;Lineage=0f0f0f0f:3"
RAN_WITH = "Root=1-aaaaaaaa-bbbbbbbbbbbbbbbbbbbbbbbb;Parent=p;Sampled=0;Lineage=0f0f0f0f:4"


async def test_a_destination_gets_the_trace_header_the_invocation_ran_with(rig: Rig) -> None:
    def traced(call: InvokeCall) -> InvokeOutcome:
        assert call.trace_header == INCOMING
        return InvokeOutcome(
            request_id="req-1", executed_version="$LATEST", payload=b"{}", trace_id=RAN_WITH
        )

    rig.invoker.script = traced
    await rig.enqueue(trace_header=INCOMING)
    await rig.run_due()
    assert rig.sent.traces == [RAN_WITH]


async def test_a_stopped_loop_goes_to_on_failure_and_dlq_with_its_trace_header(rig: Rig) -> None:
    rig.invoker.script = lambda call: RecursiveInvocationError("loop")
    await rig.enqueue(trace_header=INCOMING)
    await rig.run_due()
    assert [arn for arn, _r, _a in rig.sent.messages] == [FAILURE_Q, DLQ]
    assert rig.sent.messages[0][1]["requestContext"]["condition"] == (
        "RecursiveInvocationException"
    )
    assert rig.sent.traces == [INCOMING, INCOMING]
    assert await rig.repo.count() == 0


async def test_a_stopped_loops_record_is_not_sent_back_into_the_loop(rig: Rig) -> None:
    # OnFailure is the function itself, which the chain already ran 16 times: sending the
    # record would be stopped again, and again, without end (the Rig's accept refuses).
    fn = "arn:aws:lambda:us-east-1:000000000000:function:fn"
    rig.configs.config = EffectiveEventConfig(on_failure=fn)
    rig.invoker.script = lambda call: RecursiveInvocationError("loop")
    at_limit = f"Root=1-a-b;Lineage={lineage.function_hash(fn)}:15"
    await rig.enqueue(trace_header=at_limit)
    await rig.run_due()
    assert [arn for arn, _r, _a in rig.sent.messages] == [DLQ]
    assert await rig.repo.count() == 0
