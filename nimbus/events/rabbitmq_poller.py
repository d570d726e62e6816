"""The RabbitMQ source of event source mappings (the ``mq`` kind): checks mappings against
their broker ARN and function, runs a ``rabbitmq_consumer.RabbitConsumer`` for each enabled
one, and reports how each fares (``MappingService`` shows it as StateTransitionReason and
LastProcessingResult). What a stopped consumer last reported stays until the mapping is
deleted.
"""

from __future__ import annotations

from nimbus.clock import Clock
from nimbus.dataplane.ports import InvokerPort
from nimbus.errors import InvalidParameterValueError
from nimbus.events import rabbitmq_rules as rules
from nimbus.events import rabbitmq_status as status
from nimbus.events.rabbitmq_brokers import BrokerDirectory, SourceFailure
from nimbus.events.rabbitmq_connection import quiet_retried_connects
from nimbus.events.rabbitmq_consumer import ConsumerTuning, RabbitConsumer
from nimbus.events.stoppable import Workers
from nimbus.model.arn import FunctionRef
from nimbus.model.event_source_mapping import (
    EventSourceMapping,
    MappingChanges,
    MappingSettings,
    MappingStatus,
)
from nimbus.model.function import FunctionConfig


class RabbitMqPollers:
    """The ``mq`` kind of mapping source: checks mappings against their broker ARN and
    function, and runs a ``RabbitConsumer`` for each enabled one."""

    def __init__(
        self,
        *,
        directory: BrokerDirectory,
        invoker: InvokerPort,
        clock: Clock,
        region: str,
        account: str,
        tuning: ConsumerTuning | None = None,
    ) -> None:
        self._directory = directory
        self._invoker = invoker
        self._clock = clock
        self._region = region
        self._account = account
        self._tuning = tuning or ConsumerTuning()
        self._consumers: Workers[RabbitConsumer] = Workers()
        self._last: dict[str, status.ConsumerState] = {}
        self._closed = False

    # How AWS's conflict message (ResourceConflictException) names a broker source.
    arn_noun = "event source arn"

    def settings(
        self,
        current: MappingSettings | None,
        changes: MappingChanges,
        *,
        ref: FunctionRef,
        creating: bool,
    ) -> MappingSettings:
        """The MQ rules applied to a Create (``current`` None) or an Update."""
        return rules.apply_changes(
            current or rules.defaults(ref.name, ref.qualifier),
            changes,
            function_name=ref.name,
            qualifier=ref.qualifier,
            creating=creating,
        )

    def conflict_key(self, settings: MappingSettings) -> tuple[object, ...]:
        """One mapping per broker, queue, virtual host and function."""
        return (settings.queues, rules.virtual_host(settings))

    def check(self, source_arn: str, function: FunctionConfig) -> None:
        broker = rules.parse_broker(source_arn)
        rules.check_owner(broker, region=self._region, account=self._account)
        rules.check_function_timeout(function.timeout)
        try:
            self._directory.address(broker.name)
        except SourceFailure as exc:
            raise InvalidParameterValueError(exc.failure.detail) from None

    def apply(self, mapping: EventSourceMapping) -> None:
        self._stop(mapping.uuid)
        if self._closed or not mapping.settings.enabled:
            return
        consumer = RabbitConsumer(
            mapping,
            broker=rules.parse_broker(mapping.source_arn),
            directory=self._directory,
            invoker=self._invoker,
            clock=self._clock,
            tuning=self._tuning,
        )
        previous = self._last.get(mapping.uuid)
        if previous is not None:  # what it last reported stands until the new one knows more
            consumer.state = status.resumed(previous)
        self._consumers.add(mapping.uuid, consumer)
        quiet_retried_connects()
        consumer.start()

    def remove(self, uuid: str) -> None:
        """The mapping is deleted: stop its consumer and forget what it reported."""
        self._stop(uuid)
        self._last.pop(uuid, None)

    def status(self, uuid: str) -> MappingStatus:
        consumer = self._consumers.get(uuid)
        state = consumer.state if consumer is not None else self._last.get(uuid)
        if state is None:
            return MappingStatus(
                state_reason=status.ConsumerState().state_reason,
                last_processing_result=status.NO_RECORDS,
            )
        return MappingStatus(
            state_reason=state.state_reason, last_processing_result=state.last_result
        )

    def consumer(self, uuid: str) -> RabbitConsumer | None:
        return self._consumers.get(uuid)

    async def close(self) -> None:
        """Stop every consumer, let the batches being invoked finish and be acked for up to
        ``close_grace_s``, then cancel what is left: a graceful restart redelivers no batch
        that succeeded (as the SQS pollers do)."""
        self._closed = True
        await self._consumers.close(self._tuning.close_grace_s)

    def _stop(self, uuid: str) -> None:
        def settled(consumer: RabbitConsumer) -> None:
            # What it reported last stands until a new consumer of the mapping knows more.
            if uuid not in self._consumers and uuid in self._last:
                self._last[uuid] = consumer.state

        consumer = self._consumers.stop(uuid, when_stopped=settled)
        if consumer is not None:
            self._last[uuid] = consumer.state
