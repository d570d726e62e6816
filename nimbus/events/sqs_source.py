"""The ``sqs`` kind of event source mapping source: SQS's settings rules, the checks of a
mapping against its queue, and a ``sqs_poller.MappingPoller`` for each enabled mapping."""

from __future__ import annotations

from nimbus.clock import Clock
from nimbus.dataplane.ports import InvokerPort
from nimbus.errors import InvalidParameterValueError, QueueDoesNotExistError
from nimbus.events import mapping_rules as rules
from nimbus.events.sqs_poller import MappingPoller, PollerTuning, QueuePort
from nimbus.events.stoppable import Workers
from nimbus.model.arn import FunctionRef
from nimbus.model.event_source_mapping import EventSourceMapping, MappingChanges, MappingSettings
from nimbus.model.function import FunctionConfig


class SqsPollers:
    """The ``sqs`` kind of mapping source: checks mappings against their queue, and runs a
    ``MappingPoller`` for each enabled one."""

    def __init__(
        self,
        *,
        queues: QueuePort,
        invoker: InvokerPort,
        clock: Clock,
        region: str,
        tuning: PollerTuning | None = None,
    ) -> None:
        self._queues = queues
        self._invoker = invoker
        self._clock = clock
        self._region = region
        self._tuning = tuning or PollerTuning()
        self._pollers: Workers[MappingPoller] = Workers()
        self._closed = False

    # How AWS's conflict message (ResourceConflictException) names an SQS source.
    arn_noun = "SQS arn"

    def settings(
        self,
        current: MappingSettings | None,
        changes: MappingChanges,
        *,
        ref: FunctionRef,
        creating: bool,
    ) -> MappingSettings:
        """SQS's rules applied to a Create (``current`` None) or an Update."""
        return rules.apply_changes(
            rules.SQS,
            current or rules.defaults(rules.SQS, ref.name, ref.qualifier),
            changes,
            function_name=ref.name,
            qualifier=ref.qualifier,
        )

    def conflict_key(self, settings: MappingSettings) -> tuple[object, ...]:
        """One mapping per queue and function ARN: nothing more tells two apart."""
        return ()

    def check(self, source_arn: str, function: FunctionConfig) -> None:
        """The queue must be one of this node's, with a visibility timeout no shorter than
        the function's timeout (AWS's checks and messages at CreateEventSourceMapping)."""
        name = self._queue_name(source_arn)
        visibility = int(
            self._queues.get_attributes(name, ["VisibilityTimeout"])["VisibilityTimeout"]
        )
        rules.check_visibility(visibility, function.timeout)

    def apply(self, mapping: EventSourceMapping) -> None:
        """Run the mapping as it now is: (re)start its pollers when enabled, stop them when
        disabled."""
        self.remove(mapping.uuid)
        if self._closed or not mapping.settings.enabled:
            return
        try:
            queue = self._queue_name(mapping.source_arn)
        except InvalidParameterValueError:
            # The queue was deleted while the node was down: poll by name anyway, so the
            # mapping resumes if a queue of that name comes back (the poller backs off).
            queue = mapping.source_arn.rsplit(":", 1)[-1]
        poller = MappingPoller(
            mapping,
            queue=queue,
            queues=self._queues,
            invoker=self._invoker,
            clock=self._clock,
            region=self._region,
            tuning=self._tuning,
        )
        self._pollers.add(mapping.uuid, poller)
        poller.start()

    def remove(self, uuid: str) -> None:
        self._pollers.stop(uuid)

    def poller(self, uuid: str) -> MappingPoller | None:
        return self._pollers.get(uuid)

    async def close(self) -> None:
        """Stop every poller, let the batches being invoked finish and be settled (a
        success deleted) for up to ``close_grace_s``, then cancel what is left: a graceful
        restart delivers no message twice, and only batches cut short come back after their
        visibility timeout."""
        self._closed = True
        await self._pollers.close(self._tuning.close_grace_s)

    def _queue_name(self, source_arn: str) -> str:
        try:
            name = self._queues.name_from_arn(source_arn)
            self._queues.get_attributes(name, ["QueueArn"])
        except QueueDoesNotExistError:
            name = ""
        if not name or self._queues.arn(name) != source_arn:
            raise InvalidParameterValueError(
                "Error occurred while ReceiveMessage. SQS Error Code: "
                "AWS.SimpleQueueService.NonExistentQueue. SQS Error Message: The specified "
                f"queue does not exist or you do not have access to it ({source_arn})."
            )
        return name
