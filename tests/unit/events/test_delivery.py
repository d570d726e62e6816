"""Delivering an event to one EventBridge target: the Lambda permission check (the real
authorizer over in-memory policies), the dead-letter queue and its attributes, retries with
back-off until a limit of the target's RetryPolicy — on a clock the test moves."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from nimbus.auth.authorizer import Authorizer
from nimbus.errors import ResourceNotFoundError
from nimbus.events.delivery import Delivery, TargetDelivery
from nimbus.model.arn import Arns
from nimbus.model.eventbridge import InputTransformer, RetryPolicy, Target
from nimbus.testing.acceptor import FakeEventAcceptor
from nimbus.testing.clock import ManualClock
from nimbus.testing.outbox import Outbox
from nimbus.testing.policy_sources import FakeIdentityPolicies, FakeResourcePolicies

ARNS = Arns(region="us-east-1", account="000000000000")
RULE = "arn:aws:events:us-east-1:000000000000:rule/r"
FN = "arn:aws:lambda:us-east-1:000000000000:function:fn"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:q"
TOPIC = "arn:aws:sns:us-east-1:000000000000:t"
DLQ = "arn:aws:sqs:us-east-1:000000000000:dlq"
EVENT: dict[str, Any] = {"id": "e-1", "source": "shop", "detail-type": "x", "detail": {"n": 1}}


def events_may_invoke(source_arn: str = RULE) -> dict[str, Any]:
    """What ``aws lambda add-permission --principal events.amazonaws.com --source-arn`` adds."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "events",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": FN,
                "Condition": {"ArnLike": {"AWS:SourceArn": source_arn}},
            }
        ],
    }


class SleepingClock(ManualClock):
    """Each sleep moves the clock on by what was asked (the retries' back-off)."""

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


class Parts:
    def __init__(self, policy: dict[str, Any] | None = None) -> None:
        self.clock = SleepingClock()
        self.accepted = FakeEventAcceptor()
        self.outbox = Outbox()
        authorizer = Authorizer(
            FakeIdentityPolicies(),
            FakeResourcePolicies({FN: policy} if policy is not None else {}),
            clock=self.clock,
        )

        async def resolve(name: str, qualifier: str | None) -> object:
            if name != "fn":
                raise ResourceNotFoundError(f"Function not found: {name}")
            return object()

        self.delivery = TargetDelivery(
            accept=self.accepted.accept,
            resolve=resolve,
            queues=self.outbox,
            topics=self.outbox,
            authorizer=authorizer,
            arns=ARNS,
            clock=self.clock,
        )

    async def deliver(self, target: Target) -> None:
        await self.delivery.deliver(
            Delivery(
                rule_arn=RULE,
                rule_name="r",
                target=target,
                event=EVENT,
                ingestion_time="2024-05-01T10:00:00Z",
                started_at=self.clock.now(),
            )
        )
        for _ in range(500):  # let background retries run to their end
            await asyncio.sleep(0)
        await self.delivery.close()


async def test_a_function_is_invoked_asynchronously_when_its_policy_allows_the_rule() -> None:
    parts = Parts(events_may_invoke())
    await parts.deliver(Target(id="t", arn=FN))
    [call] = parts.accepted.accepted
    assert call.function_name == "fn" and call.invocation_type == "Event"
    assert orjson.loads(call.payload) == EVENT


@pytest.mark.parametrize(
    "policy", [None, events_may_invoke("arn:aws:events:us-east-1:000000000000:rule/other")]
)
async def test_without_the_permission_the_event_goes_to_the_dlq_unretried(
    policy: dict[str, Any] | None,
) -> None:
    parts = Parts(policy)
    await parts.deliver(Target(id="t", arn=FN, dead_letter_arn=DLQ))
    assert parts.accepted.accepted == []
    [dead] = parts.outbox.to(DLQ)
    assert orjson.loads(dead.body) == EVENT  # the event, not what the target would get
    assert dead.attribute("ERROR_CODE") == "NO_PERMISSIONS"
    assert dead.attribute("RULE_ARN") == RULE and dead.attribute("TARGET_ARN") == FN
    assert dead.attribute("RETRY_ATTEMPTS") == "0"
    assert dead.attribute("EXHAUSTED_RETRY_CONDITION") is None


async def test_a_missing_target_is_no_resource_and_without_a_dlq_is_dropped() -> None:
    parts = Parts(events_may_invoke())
    parts.outbox.missing.add(QUEUE)
    await parts.deliver(
        Target(
            id="t", arn="arn:aws:lambda:us-east-1:000000000000:function:gone", dead_letter_arn=DLQ
        )
    )
    await parts.deliver(Target(id="q", arn=QUEUE))  # no DLQ: dropped (logged)
    [dead] = parts.outbox.sent
    assert dead.arn == DLQ and dead.attribute("ERROR_CODE") == "NO_RESOURCE"


async def test_a_failing_service_is_retried_until_it_takes_the_event() -> None:
    parts = Parts()
    parts.outbox.failing[TOPIC] = 3
    await parts.deliver(Target(id="t", arn=TOPIC, dead_letter_arn=DLQ))
    [sent] = parts.outbox.sent
    assert sent.arn == TOPIC and orjson.loads(sent.body) == EVENT


async def test_retries_stop_at_maximum_retry_attempts() -> None:
    parts = Parts()
    parts.outbox.failing[QUEUE] = 100
    target = Target(
        id="t", arn=QUEUE, dead_letter_arn=DLQ, retry_policy=RetryPolicy(maximum_retry_attempts=2)
    )
    await parts.deliver(target)
    [dead] = parts.outbox.sent
    assert dead.arn == DLQ and dead.attribute("ERROR_CODE") == "INTERNAL_ERROR"
    assert dead.attribute("RETRY_ATTEMPTS") == "2"
    assert dead.attribute("EXHAUSTED_RETRY_CONDITION") == "MaximumRetryAttempts"
    assert parts.outbox.failing[QUEUE] == 97  # the first attempt and two retries


async def test_retries_stop_at_maximum_event_age() -> None:
    parts = Parts()
    parts.outbox.failing[QUEUE] = 1000
    start = parts.clock.now()
    target = Target(
        id="t", arn=QUEUE, dead_letter_arn=DLQ, retry_policy=RetryPolicy(maximum_event_age_s=60)
    )
    await parts.deliver(target)
    [dead] = parts.outbox.sent
    assert dead.attribute("EXHAUSTED_RETRY_CONDITION") == "MaximumEventAgeInSeconds"
    assert parts.clock.now() - start <= 60  # never retried past the age


async def test_a_template_that_is_no_longer_json_is_invalid_json_in_the_dlq() -> None:
    parts = Parts()
    transformer = InputTransformer(template='{"d": "<d>"}', paths={"d": "$.detail"})
    await parts.deliver(
        Target(id="t", arn=QUEUE, input_transformer=transformer, dead_letter_arn=DLQ)
    )
    [dead] = parts.outbox.sent
    assert dead.arn == DLQ and dead.attribute("ERROR_CODE") == "INVALID_JSON"


async def test_an_input_path_selecting_nothing_sends_nothing() -> None:
    parts = Parts()
    await parts.deliver(
        Target(id="t", arn=QUEUE, input_path="$.detail.missing", dead_letter_arn=DLQ)
    )
    assert parts.outbox.sent == []


async def test_an_event_that_cannot_be_written_is_invalid_json_and_never_raises() -> None:
    """deliver() never raises: an event nested past orjson's 254 levels (PutEvents refuses
    them; this is the last line) is not delivered, and is reported."""
    deep: Any = []
    for _ in range(300):
        deep = [deep]
    event = {**EVENT, "detail": {"deep": deep}}
    parts = Parts()
    for target in (
        Target(id="q", arn=QUEUE, dead_letter_arn=DLQ),
        Target(id="p", arn=QUEUE, input_path="$.detail", dead_letter_arn=DLQ),
    ):
        await parts.delivery.deliver(
            Delivery(
                rule_arn=RULE,
                rule_name="r",
                target=target,
                event=event,
                ingestion_time="2024-05-01T10:00:00Z",
                started_at=parts.clock.now(),
            )
        )
    assert parts.outbox.sent == []
    await parts.delivery.close()
