"""Delivering one schedule tick to its target: a Lambda function (invoked asynchronously,
through the async-invoke queue, so the function's own retries, DLQ and destinations apply),
a built-in queue (SendMessage) or topic (Publish), with the schedule's RetryPolicy and
DeadLetterConfig around the delivery itself.

Scheduler sends the target's ``Input`` as is, not in an envelope (Scheduler user guide,
"Templated targets"); without one it sends ``{}``.

Retries (Scheduler user guide, "Configuring a retry policy"; ``delivery_retry``, shared with
EventBridge's targets): a delivery that fails with a retryable error (throttled, the service
failing) is tried again with an exponential back-off until ``MaximumRetryAttempts`` retries
are spent or the tick is ``MaximumEventAgeInSeconds`` old; one that fails for good (the
target does not exist, the payload is too large) is not retried. Either way the payload then
goes to the dead-letter queue, with the attributes AWS's dead-letter events carry
(``ERROR_CODE``, ``ERROR_MESSAGE``, ``EXECUTION_ID``, ``EXHAUSTED_RETRY_CONDITION`` when a
retry limit ended it, ``IS_PAYLOAD_TRUNCATED``, ``RETRY_ATTEMPTS``, ``SCHEDULED_TIME``,
``SCHEDULE_ARN``, ``TARGET_ARN``). Retries are kept in memory: a restart drops a tick's
remaining retries (the tick itself never repeats).
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime
from functools import partial

from nimbus.clock import Clock
from nimbus.errors import NimbusError
from nimbus.events.delivery_retry import Exhausted, Failure, Limits, Retrier, send_dead_letter
from nimbus.events.destinations import Accept, QueuePort, TopicPort
from nimbus.model.arn import parse_function_ref
from nimbus.model.invoke import InvokeCall
from nimbus.model.schedule import ScheduleTarget

log = logging.getLogger(__name__)


def failure_of(error: NimbusError) -> Failure:
    """A target service's refusal (pure): throttles and the service's own failures may pass
    (retried); a missing target or a refused payload will not. The dead-letter message's
    ERROR_CODE is the error's type."""
    retryable = error.status == 429 or error.status >= 500
    return Failure(code=error.error_type, message=error.message, retryable=retryable)


def target_service(arn: str) -> str:
    """``lambda``, ``sqs`` or ``sns`` for an ARN of that service, else ``""``."""
    parts = arn.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""


def dead_letter_attributes(
    target: ScheduleTarget,
    *,
    schedule_arn: str,
    tick: float,
    failure: Failure,
    retries: int,
    condition: Exhausted | None,
    execution_id: str,
) -> dict[str, str]:
    """The attributes of a tick's dead-letter message (pure)."""
    values = {
        "ERROR_CODE": failure.code,
        "ERROR_MESSAGE": failure.message,
        "EXECUTION_ID": execution_id,
        "IS_PAYLOAD_TRUNCATED": "false",
        "RETRY_ATTEMPTS": str(retries),
        "SCHEDULED_TIME": datetime.fromtimestamp(tick, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "SCHEDULE_ARN": schedule_arn,
        "TARGET_ARN": target.arn,
    }
    if condition is not None:
        values["EXHAUSTED_RETRY_CONDITION"] = condition
    return values


class ScheduleDelivery:
    def __init__(
        self, *, accept: Accept, queues: QueuePort, topics: TopicPort, clock: Clock
    ) -> None:
        self._accept = accept
        self._queues = queues
        self._topics = topics
        self._retrier = Retrier(clock=clock)

    async def close(self) -> None:
        await self._retrier.close()

    async def deliver(self, target: ScheduleTarget, *, schedule_arn: str, tick: float) -> None:
        """One attempt now; on a retryable failure the retries (and the dead-letter queue)
        go on in the background, so one failing target never holds up the timer."""
        payload = target.input if target.input is not None else "{}"
        await self._retrier.run(
            partial(self._attempt, target, payload),
            limits=Limits(
                retry_attempts=target.retry.maximum_retry_attempts,
                event_age_s=target.retry.maximum_event_age_s,
            ),
            started_at=tick,
            give_up=partial(self._dead_letter, target, payload, schedule_arn, tick),
            what=f"schedule {schedule_arn}",
        )

    async def _attempt(self, target: ScheduleTarget, payload: str) -> Failure | None:
        service = target_service(target.arn)
        try:
            if service == "lambda":
                ref = parse_function_ref(target.arn)
                await self._accept(
                    InvokeCall(
                        function_name=ref.name,
                        qualifier=ref.qualifier,
                        payload=payload.encode(),
                        invocation_type="Event",
                    )
                )
            elif service == "sqs":
                await self._queues.send_to_arn(target.arn, payload)
            elif service == "sns":
                await self._topics.publish(target.arn, payload)
            else:  # CreateSchedule refuses these; a stored one is reported, not crashed on
                return Failure(
                    code="ValidationException",
                    message=f"Nimbus cannot deliver to {target.arn}.",
                    retryable=False,
                )
        except NimbusError as exc:
            return failure_of(exc)
        return None

    async def _dead_letter(
        self,
        target: ScheduleTarget,
        payload: str,
        schedule_arn: str,
        tick: float,
        failure: Failure,
        retries: int,
        condition: Exhausted | None,
    ) -> None:
        log.warning(
            "schedule %s: delivery to %s failed (%s)", schedule_arn, target.arn, failure.message
        )
        if target.dead_letter_arn is None:
            return
        values = dead_letter_attributes(
            target,
            schedule_arn=schedule_arn,
            tick=tick,
            failure=failure,
            retries=retries,
            condition=condition,
            execution_id=str(uuid.uuid4()),
        )
        await send_dead_letter(
            self._queues, target.dead_letter_arn, payload, values, what=f"schedule {schedule_arn}"
        )
