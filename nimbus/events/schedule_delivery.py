"""Delivering one schedule tick to its target: a Lambda function (invoked asynchronously,
through the async-invoke queue, so the function's own retries, DLQ and destinations apply),
a built-in queue (SendMessage) or topic (Publish), with the schedule's RetryPolicy and
DeadLetterConfig around the delivery itself.

Scheduler sends the target's ``Input`` as is, not in an envelope (Scheduler user guide,
"Templated targets"); without one it sends ``{}``.

Retries (Scheduler user guide, "Configuring a retry policy"): a delivery that fails with a
retryable error (throttled, the service failing) is tried again with an exponential back-off
until ``MaximumRetryAttempts`` retries are spent or the tick is ``MaximumEventAgeInSeconds``
old; one that fails for good (the target does not exist, the payload is too large) is not
retried. Either way the payload then goes to the dead-letter queue, with the attributes
AWS's dead-letter events carry (``ERROR_CODE``, ``ERROR_MESSAGE``, ``EXECUTION_ID``,
``EXHAUSTED_RETRY_CONDITION`` when a retry limit ended it, ``IS_PAYLOAD_TRUNCATED``,
``RETRY_ATTEMPTS``, ``SCHEDULED_TIME``, ``SCHEDULE_ARN``, ``TARGET_ARN``). Retries are
kept in memory: a restart drops a tick's remaining retries (the tick itself never repeats).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from nimbus.clock import Clock
from nimbus.errors import NimbusError
from nimbus.events.destinations import Accept, QueuePort, TopicPort
from nimbus.model.arn import parse_function_ref
from nimbus.model.invoke import InvokeCall
from nimbus.model.queue import MessageAttribute
from nimbus.model.schedule import RetryPolicy, ScheduleTarget

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 300.0
Exhausted = Literal["MaximumRetryAttempts", "MaximumEventAgeInSeconds"]


@dataclass(frozen=True, kw_only=True)
class Retry:
    at: float


@dataclass(frozen=True, kw_only=True)
class GiveUp:
    condition: Exhausted | None  # None: the error is not one to retry


def after_failure(
    *, retryable: bool, retries: int, tick: float, now: float, policy: RetryPolicy
) -> Retry | GiveUp:
    """What follows a failed delivery attempt, ``retries`` retries having been made."""
    if not retryable:
        return GiveUp(condition=None)
    if retries >= policy.maximum_retry_attempts:
        return GiveUp(condition="MaximumRetryAttempts")
    at = now + min(BACKOFF_MAX_S, BACKOFF_INITIAL_S * 2**retries)
    if at - tick > policy.maximum_event_age_s:
        return GiveUp(condition="MaximumEventAgeInSeconds")
    return Retry(at=at)


def retryable(error: NimbusError) -> bool:
    """Throttles and the service's own failures may pass; a missing target or a refused
    payload will not."""
    return error.status == 429 or error.status >= 500


def target_service(arn: str) -> str:
    """``lambda``, ``sqs`` or ``sns`` for an ARN of that service, else ``""``."""
    parts = arn.split(":")
    return parts[2] if len(parts) >= 6 and parts[0] == "arn" else ""


class ScheduleDelivery:
    def __init__(
        self, *, accept: Accept, queues: QueuePort, topics: TopicPort, clock: Clock
    ) -> None:
        self._accept = accept
        self._queues = queues
        self._topics = topics
        self._clock = clock
        self._retrying: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in list(self._retrying):
            task.cancel()
        await asyncio.gather(*self._retrying, return_exceptions=True)

    async def deliver(self, target: ScheduleTarget, *, schedule_arn: str, tick: float) -> None:
        """One attempt now; on failure the retries (and the dead-letter queue) go on in the
        background, so one failing target never holds up the timer."""
        payload = target.input if target.input is not None else "{}"
        error = await self._attempt(target, payload)
        if error is not None:
            task = asyncio.create_task(self._retry(target, payload, schedule_arn, tick, error))
            self._retrying.add(task)
            task.add_done_callback(self._retrying.discard)

    async def _attempt(self, target: ScheduleTarget, payload: str) -> NimbusError | None:
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
                return NimbusError(f"Nimbus cannot deliver to {target.arn}.")
        except NimbusError as exc:
            return exc
        return None

    async def _retry(
        self,
        target: ScheduleTarget,
        payload: str,
        schedule_arn: str,
        tick: float,
        error: NimbusError,
    ) -> None:
        retries = 0
        while True:
            now = self._clock.now()
            step = after_failure(
                retryable=retryable(error),
                retries=retries,
                tick=tick,
                now=now,
                policy=target.retry,
            )
            if isinstance(step, GiveUp):
                await self._dead_letter(target, payload, schedule_arn, tick, error, retries, step)
                return
            await self._clock.sleep(step.at - now)
            retries += 1
            failed = await self._attempt(target, payload)
            if failed is None:
                return
            error = failed

    async def _dead_letter(
        self,
        target: ScheduleTarget,
        payload: str,
        schedule_arn: str,
        tick: float,
        error: NimbusError,
        retries: int,
        step: GiveUp,
    ) -> None:
        log.warning(
            "schedule %s: delivery to %s failed (%s)", schedule_arn, target.arn, error.message
        )
        if target.dead_letter_arn is None:
            return
        values = {
            "ERROR_CODE": error.error_type,
            "ERROR_MESSAGE": error.message,
            "EXECUTION_ID": str(uuid.uuid4()),
            "IS_PAYLOAD_TRUNCATED": "false",
            "RETRY_ATTEMPTS": str(retries),
            "SCHEDULED_TIME": datetime.fromtimestamp(tick, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "SCHEDULE_ARN": schedule_arn,
            "TARGET_ARN": target.arn,
        }
        if step.condition is not None:
            values["EXHAUSTED_RETRY_CONDITION"] = step.condition
        attributes = {
            k: MessageAttribute(data_type="String", string_value=v) for k, v in values.items()
        }
        try:
            await self._queues.send_to_arn(target.dead_letter_arn, payload, attributes)
        except NimbusError as exc:
            log.warning(
                "schedule %s: dead-letter queue %s failed (%s): tick dropped",
                schedule_arn,
                target.dead_letter_arn,
                exc.message,
            )
