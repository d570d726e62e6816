"""Event source mappings (Create/Get/List/Update/DeleteEventSourceMapping): validate,
persist, and hand each mapping to the source that runs it.

The service is source-neutral: a mapping's EventSourceArn decides its kind
(``mapping_rules.source_kind``), and a ``MappingSource`` of that kind applies its settings
rules, says what tells two of its mappings apart, checks a mapping against the source and
runs its pollers (``sqs_source.SqsPollers`` for queues,
``rabbitmq_poller.RabbitMqPollers`` for RabbitMQ brokers; streams are further sources). A
source that reports how its mappings fare (``ReportsStatus``: RabbitMQ's connection errors)
has its StateTransitionReason and LastProcessingResult in every read. Mappings live in
memory, written through to the store before each answer; ``load`` resumes them at start.

States as AWS reports them: the answer to Create says ``Creating`` (``Disabled`` when created
disabled), to Update ``Enabling``/``Disabling`` when Enabled changed and ``Updating``
otherwise, to Delete ``Deleting``; reads afterwards see the settled ``Enabled``/``Disabled``
(pollers start and stop at once here).
"""

from __future__ import annotations

import logging
import uuid as uuids
from collections.abc import Mapping
from dataclasses import replace
from typing import Protocol, runtime_checkable

from nimbus.clock import Clock
from nimbus.errors import (
    NimbusError,
    ResourceConflictError,
    ResourceNotFoundError,
    ValidationError,
)
from nimbus.events import mapping_rules as rules
from nimbus.model.arn import Arns, FunctionRef, parse_function_ref
from nimbus.model.event_source_mapping import (
    EventSourceMapping,
    MappingChanges,
    MappingSettings,
    MappingStatus,
)
from nimbus.model.function import FunctionConfig
from nimbus.store.event_source_mappings import MappingRepository

log = logging.getLogger(__name__)

CREATING, ENABLING, DISABLING, UPDATING, DELETING = (
    "Creating",
    "Enabling",
    "Disabling",
    "Updating",
    "Deleting",
)
NOT_FOUND = "The resource you requested does not exist."


class ConfigResolver(Protocol):
    async def config(self, name: str, qualifier: str | None) -> FunctionConfig:
        """Raises ResourceNotFoundError for an unknown function, version or alias."""


class MappingSource(Protocol):
    """One kind of event source (``sqs``, ``mq``): its settings rules, its checks, and its
    pollers."""

    # How AWS's ResourceConflictException names the source ("SQS arn", "event source arn").
    arn_noun: str

    def settings(
        self,
        current: MappingSettings | None,
        changes: MappingChanges,
        *,
        ref: FunctionRef,
        creating: bool,
    ) -> MappingSettings:
        """The source's rules applied to a Create (``current`` None) or an Update; raises
        ValidationError or InvalidParameterValueError as AWS answers."""

    def conflict_key(self, settings: MappingSettings) -> tuple[object, ...]:
        """What, besides the source ARN and the function, tells two mappings of the source
        apart (a broker's queue and virtual host; nothing for a queue)."""

    def check(self, source_arn: str, function: FunctionConfig) -> None:
        """Raises InvalidParameterValueError when the source cannot serve the function (it
        does not exist; its settings conflict with the function's)."""

    def apply(self, mapping: EventSourceMapping) -> None:
        """Run the mapping as it now is: poll when enabled, stop when disabled."""

    def remove(self, uuid: str) -> None:
        """Stop the mapping's pollers (a batch being invoked finishes)."""

    async def close(self) -> None: ...


@runtime_checkable
class ReportsStatus(Protocol):
    """A source whose mappings can fail on their own (a broker down, credentials refused)."""

    def status(self, uuid: str) -> MappingStatus: ...


class MappingService:
    def __init__(
        self,
        *,
        repo: MappingRepository,
        resolver: ConfigResolver,
        sources: Mapping[str, MappingSource],
        arns: Arns,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._resolver = resolver
        self._sources = dict(sources)
        self._arns = arns
        self._clock = clock
        self._mappings: dict[str, EventSourceMapping] = {}

    async def load(self) -> None:
        """Read every mapping and start the enabled ones (mappings survive a restart)."""
        for mapping in await self._repo.load():
            self._mappings[mapping.uuid] = mapping
            source = self._sources.get(self._kind_or_none(mapping.source_arn) or "")
            if source is not None:
                source.apply(mapping)

    async def close(self) -> None:
        for source in self._sources.values():
            await source.close()

    # --- operations ------------------------------------------------------------------------

    async def create(
        self, source_arn: str | None, changes: MappingChanges
    ) -> tuple[EventSourceMapping, str]:
        """A new mapping and the State its answer reports."""
        kind = rules.source_kind(source_arn)
        assert source_arn is not None
        if changes.function_name is None:
            raise ValidationError(
                "1 validation error detected: Value null at 'functionName' failed to satisfy "
                "constraint: Member must not be null"
            )
        ref = self._function_ref(changes.function_name)
        source = self._source(kind)
        settings = source.settings(None, changes, ref=ref, creating=True)
        source.check(source_arn, await self._function(ref))
        self._check_unique(source, source_arn, settings, exclude=None)
        mapping = EventSourceMapping(
            uuid=str(uuids.uuid4()),
            source_arn=source_arn,
            settings=settings,
            last_modified=self._clock.now(),
        )
        await self._repo.put(mapping)
        self._mappings[mapping.uuid] = mapping
        source.apply(mapping)
        return self._reported(mapping), CREATING if settings.enabled else mapping.state

    def get(self, uuid: str) -> EventSourceMapping:
        mapping = self._mappings.get(uuid)
        if mapping is None:
            raise ResourceNotFoundError(NOT_FOUND)
        return self._reported(mapping)

    def list(
        self, *, source_arn: str | None = None, function_name: str | None = None
    ) -> list[EventSourceMapping]:
        """Mappings in creation order, filtered as ListEventSourceMappings filters: by
        EventSourceArn, and by function (a name or ARN; qualified, only that qualifier)."""
        ref = self._function_ref(function_name) if function_name else None
        found = []
        for mapping in self._mappings.values():
            if source_arn is not None and mapping.source_arn != source_arn:
                continue
            if ref is not None and (
                mapping.settings.function_name != ref.name
                or (ref.qualifier is not None and mapping.settings.qualifier != ref.qualifier)
            ):
                continue
            found.append(self._reported(mapping))
        return found

    async def update(self, uuid: str, changes: MappingChanges) -> tuple[EventSourceMapping, str]:
        self.get(uuid)
        current = self._mappings[uuid]
        kind = rules.source_kind(current.source_arn)
        ref = (
            self._function_ref(changes.function_name)
            if changes.function_name is not None
            else FunctionRef(
                name=current.settings.function_name, qualifier=current.settings.qualifier
            )
        )
        source = self._source(kind)
        settings = source.settings(current.settings, changes, ref=ref, creating=False)
        if changes.function_name is not None:
            source.check(current.source_arn, await self._function(ref))
            self._check_unique(source, current.source_arn, settings, exclude=uuid)
        mapping = EventSourceMapping(
            uuid=uuid,
            source_arn=current.source_arn,
            settings=settings,
            last_modified=self._clock.now(),
        )
        await self._repo.put(mapping)
        self._mappings[uuid] = mapping
        source.apply(mapping)
        if settings.enabled != current.settings.enabled:
            return self._reported(mapping), ENABLING if settings.enabled else DISABLING
        return self._reported(mapping), UPDATING

    async def delete(self, uuid: str) -> EventSourceMapping:
        mapping = self.get(uuid)
        await self._repo.delete(uuid)
        del self._mappings[uuid]
        source = self._sources.get(self._kind_or_none(mapping.source_arn) or "")
        if source is not None:
            source.remove(uuid)
        return mapping

    # --- internals -------------------------------------------------------------------------

    def _reported(self, mapping: EventSourceMapping) -> EventSourceMapping:
        """The mapping as reads show it: with what its source reports, if it reports."""
        source = self._sources.get(self._kind_or_none(mapping.source_arn) or "")
        if not isinstance(source, ReportsStatus):
            return mapping
        reported = source.status(mapping.uuid)
        return replace(
            mapping,
            state_reason=reported.state_reason,
            last_processing_result=reported.last_processing_result,
        )

    def _function_ref(self, text: str) -> FunctionRef:
        ref = parse_function_ref(text)
        self._arns.check_owner(ref)
        return ref

    async def _function(self, ref: FunctionRef) -> FunctionConfig:
        try:
            return await self._resolver.config(ref.name, ref.qualifier)
        except ResourceNotFoundError as exc:
            raise ResourceNotFoundError(
                f"Function does not exist: {self._arns.function(ref.name, ref.qualifier)}"
            ) from exc

    def _source(self, kind: str) -> MappingSource:
        source = self._sources.get(kind)
        if source is None:  # a kind the rules know but this node was not given
            raise rules.unsupported(kind)
        return source

    def _check_unique(
        self,
        source: MappingSource,
        source_arn: str,
        settings: MappingSettings,
        *,
        exclude: str | None,
    ) -> None:
        """One mapping per source and function ARN (a version or alias is another ARN), and
        per whatever else the source tells apart (a broker's queue and virtual host)."""
        key = source.conflict_key(settings)
        for other in self._mappings.values():
            if (
                other.uuid != exclude
                and other.source_arn == source_arn
                and other.settings.function_name == settings.function_name
                and other.settings.qualifier == settings.qualifier
                and source.conflict_key(other.settings) == key
            ):
                raise ResourceConflictError(
                    f'An event source mapping with {source.arn_noun} (" {source_arn} ") and '
                    f'function (" {settings.function_name} ") already exists. Please update or '
                    f"delete the existing mapping with UUID {other.uuid}"
                )

    @staticmethod
    def _kind_or_none(source_arn: str) -> str | None:
        try:
            return rules.source_kind(source_arn)
        except NimbusError:
            return None
