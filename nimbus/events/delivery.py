"""Delivering one event to one EventBridge target: the body ``input_transform`` makes of it,
sent to a Lambda function (invoked asynchronously, through the async-invoke queue, so the
function's own retries, DLQ and destinations apply), a built-in queue (SendMessage) or a
built-in topic (Publish); with the target's RetryPolicy and DeadLetterConfig around the
delivery itself.

AWS's behaviour reproduced ("Event retry policy and using dead-letter queues"):

- EventBridge invokes a function only when the function's resource-based policy allows
  ``events.amazonaws.com`` to (``lambda:InvokeFunction``, with the rule's ARN as
  ``aws:SourceArn``), as ``aws lambda add-permission --principal events.amazonaws.com
  --source-arn <rule ARN>`` grants; decided by the one authorizer.
- A failure that retrying cannot mend — missing permissions (``NO_PERMISSIONS``), a target
  that does not exist (``NO_RESOURCE``), a body the target refuses (``INVALID_PARAMETER``),
  a template that is no longer JSON (``INVALID_JSON``) — goes to the dead-letter queue at
  once; another (the service failing) is retried with exponential back-off until the
  target's MaximumRetryAttempts or MaximumEventAgeInSeconds is spent (defaults 185 and 24
  hours), then goes there (``delivery_retry``, shared with Scheduler's targets).
- A dead-letter message is the event, with the attributes ``RULE_ARN``, ``TARGET_ARN``,
  ``ERROR_CODE``, ``ERROR_MESSAGE``, ``RETRY_ATTEMPTS`` and, when a limit ended the retries,
  ``EXHAUSTED_RETRY_CONDITION``. Without a dead-letter queue the event is dropped (logged).

The first attempt is awaited by whoever delivers (PutEvents answers after it, so an event it
accepted is durable in its target's queue); retries run in the background and are kept in
memory: a restart drops them.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Final, Protocol

import orjson

from nimbus.auth.policy import Allow, Decision
from nimbus.auth.principal import Principal, service
from nimbus.clock import Clock
from nimbus.errors import NimbusError
from nimbus.events.delivery_retry import Failure, Limits, Retrier, send_dead_letter
from nimbus.events.destinations import Accept, QueuePort, TopicPort
from nimbus.events.input_transform import TransformFailed, target_input
from nimbus.model.arn import Arns, parse_function_ref
from nimbus.model.eventbridge import Target
from nimbus.model.invoke import InvokeCall

log = logging.getLogger(__name__)

EVENTS: Final = service("events.amazonaws.com")
_NOT_FOUND: Final = frozenset(
    {"ResourceNotFoundException", "QueueDoesNotExist", "NotFound", "NotFoundException"}
)


class Decide(Protocol):
    """``auth.authorizer.Authorizer.decide``."""

    async def decide(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, object] | None = None,
    ) -> Decision: ...


Resolve = Callable[[str, str | None], Awaitable[object]]  # QualifierResolver.config


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """One event on its way to one target."""

    rule_arn: str
    rule_name: str
    target: Target
    event: Mapping[str, Any]
    ingestion_time: str  # aws.events.event.ingestion-time
    started_at: float  # MaximumEventAgeInSeconds counts from here


def failure_of(error: NimbusError) -> Failure:
    """A target service's refusal as a delivery failure (pure)."""
    if error.error_type in _NOT_FOUND:
        return Failure(code="NO_RESOURCE", message=error.message, retryable=False)
    if error.status == 429:
        return Failure(code="THROTTLING", message=error.message, retryable=True)
    if error.status >= 500:
        return Failure(code="INTERNAL_ERROR", message=error.message, retryable=True)
    return Failure(code="INVALID_PARAMETER", message=error.message, retryable=False)


def dead_letter_attributes(
    delivery: Delivery, failure: Failure, retries: int, condition: str | None
) -> dict[str, str]:
    values = {
        "RULE_ARN": delivery.rule_arn,
        "TARGET_ARN": delivery.target.arn,
        "ERROR_CODE": failure.code,
        "ERROR_MESSAGE": failure.message,
        "RETRY_ATTEMPTS": str(retries),
    }
    if condition is not None:
        values["EXHAUSTED_RETRY_CONDITION"] = condition
    return values


class TargetDelivery:
    def __init__(
        self,
        *,
        accept: Accept,
        resolve: Resolve,
        queues: QueuePort,
        topics: TopicPort,
        authorizer: Decide,
        arns: Arns,
        clock: Clock,
    ) -> None:
        self._accept = accept
        self._resolve = resolve
        self._queues = queues
        self._topics = topics
        self._authorizer = authorizer
        self._arns = arns
        self._retrier = Retrier(clock=clock)

    async def close(self) -> None:
        await self._retrier.close()

    async def deliver(self, delivery: Delivery) -> None:
        """One attempt now (never raises); on a retryable failure the retries go on in the
        background."""
        try:
            body = target_input(
                delivery.target,
                delivery.event,
                rule_arn=delivery.rule_arn,
                rule_name=delivery.rule_name,
                ingestion_time=delivery.ingestion_time,
            )
        except TransformFailed as err:
            failure = Failure(code="INVALID_JSON", message=str(err), retryable=False)
            await self._give_up(delivery, failure, 0, None)
            return
        if body is None:
            log.info(
                "rule %s: InputPath selects nothing of event %s: nothing sent to %s",
                delivery.rule_arn,
                delivery.event.get("id"),
                delivery.target.id,
            )
            return
        policy = delivery.target.retries
        await self._retrier.run(
            partial(self._attempt, delivery, body),
            limits=Limits(retry_attempts=policy.attempts, event_age_s=policy.event_age_s),
            started_at=delivery.started_at,
            give_up=partial(self._give_up, delivery),
            what=f"rule {delivery.rule_arn}: target {delivery.target.id}",
        )

    async def _attempt(self, delivery: Delivery, body: str) -> Failure | None:
        arn = delivery.target.arn
        kind = arn.split(":")[2] if arn.count(":") >= 5 else ""
        try:
            if kind == "lambda":
                return await self._invoke(delivery, body)
            if kind == "sqs":
                await self._queues.send_to_arn(arn, body)
            elif kind == "sns":
                await self._topics.publish(arn, body)
            else:  # PutTargets refuses these; a stored one is reported, never crashed on
                return Failure(
                    code="INVALID_PARAMETER",
                    message=f"Nimbus cannot deliver to {arn}.",
                    retryable=False,
                )
        except NimbusError as err:
            return failure_of(err)
        return None

    async def _invoke(self, delivery: Delivery, body: str) -> Failure | None:
        ref = parse_function_ref(delivery.target.arn)
        await self._resolve(ref.name, ref.qualifier)  # a missing function: NO_RESOURCE
        function_arn = self._arns.function(ref.name, ref.qualifier)
        decision = await self._authorizer.decide(
            EVENTS,
            "lambda:InvokeFunction",
            function_arn,
            {"aws:SourceArn": delivery.rule_arn, "aws:SourceAccount": self._arns.account},
        )
        if not isinstance(decision, Allow):
            return Failure(
                code="NO_PERMISSIONS",
                message=f"The resource-based policy of {function_arn} does not allow "
                f"events.amazonaws.com to invoke it for {delivery.rule_arn}: add one with "
                f"aws lambda add-permission --principal events.amazonaws.com --action "
                f"lambda:InvokeFunction --source-arn {delivery.rule_arn}",
                retryable=False,
            )
        await self._accept(
            InvokeCall(
                function_name=ref.name,
                qualifier=ref.qualifier,
                payload=body.encode(),
                invocation_type="Event",
            )
        )
        return None

    async def _give_up(
        self, delivery: Delivery, failure: Failure, retries: int, condition: str | None
    ) -> None:
        target = delivery.target
        log.warning(
            "rule %s: event %s not delivered to %s: %s (%s)",
            delivery.rule_arn,
            delivery.event.get("id"),
            target.arn,
            failure.code,
            failure.message,
        )
        if target.dead_letter_arn is None:
            return
        try:
            event = orjson.dumps(delivery.event).decode()
        except orjson.JSONEncodeError:  # PutEvents bounds a Detail's depth: never, then
            log.warning(
                "rule %s: event %s cannot be written: dropped",
                delivery.rule_arn,
                delivery.event.get("id"),
            )
            return
        await send_dead_letter(
            self._queues,
            target.dead_letter_arn,
            event,
            dead_letter_attributes(delivery, failure, retries, condition),
            what=f"rule {delivery.rule_arn}",
        )
