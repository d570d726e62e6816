"""Route table: event source mappings (Create/Get/List/Update/DeleteEventSourceMapping), as
botocore's ``lambda`` 2015-03-31 model shapes them: 202 for Create, Update and Delete, 200
for Get and List."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.errors import InvalidParameterValueError
from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns
from nimbus.model.event_source_mapping import EventSourceMapping, MappingChanges, SourceAccess

PATH = "/2015-03-31/event-source-mappings"
MAX_BODY = 262_144
# Members of Create/UpdateEventSourceMapping for sources other than SQS queues (streams,
# Kafka, MQ, DocumentDB) or features Nimbus lacks; the source's rules refuse them by name
# (Queues and SourceAccessConfigurations are also parsed, for the RabbitMQ rules).
OTHER_PARAMETERS = (
    "StartingPosition",
    "StartingPositionTimestamp",
    "ParallelizationFactor",
    "DestinationConfig",
    "MaximumRecordAgeInSeconds",
    "BisectBatchOnFunctionError",
    "MaximumRetryAttempts",
    "TumblingWindowInSeconds",
    "Topics",
    "Queues",
    "SourceAccessConfigurations",
    "SelfManagedEventSource",
    "AmazonManagedKafkaEventSourceConfig",
    "SelfManagedKafkaEventSourceConfig",
    "DocumentDBEventSourceConfig",
    "ProvisionedPollerConfig",
    "KMSKeyArn",
    "MetricsConfig",
    "LoggingConfig",
)


class MappingDirectory(Protocol):
    """``events.mappings.MappingService``: raises NimbusErrors (404 unknown UUID, 409 a
    second mapping of one source and function, 400 bad settings)."""

    async def create(
        self, source_arn: str | None, changes: MappingChanges
    ) -> tuple[EventSourceMapping, str]: ...

    def get(self, uuid: str) -> EventSourceMapping: ...

    def list(
        self, *, source_arn: str | None = None, function_name: str | None = None
    ) -> Sequence[EventSourceMapping]: ...

    async def update(
        self, uuid: str, changes: MappingChanges
    ) -> tuple[EventSourceMapping, str]: ...

    async def delete(self, uuid: str) -> EventSourceMapping: ...


def _int(body: dict[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValueError(f"{key} must be an integer.")
    return value


def _object(body: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidParameterValueError(f"{key} must be an object.")
    return value


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValueError(f"{what} must be a list of strings.")
    return tuple(value)


def _source_access(body: dict[str, Any]) -> tuple[SourceAccess, ...] | None:
    value = body.get("SourceAccessConfigurations")
    if value is None:
        return None
    if not isinstance(value, list) or not all(
        isinstance(entry, dict)
        and isinstance(entry.get("Type"), str)
        and isinstance(entry.get("URI"), str)
        for entry in value
    ):
        raise InvalidParameterValueError(
            'SourceAccessConfigurations must be a list of {"Type": "...", "URI": "..."} objects.'
        )
    return tuple(SourceAccess(type=entry["Type"], uri=entry["URI"]) for entry in value)


def parse_changes(body: dict[str, Any]) -> MappingChanges:
    """The request's members, typed; ranges and per-source rules are the service's."""
    enabled = body.get("Enabled")
    if enabled is not None and not isinstance(enabled, bool):
        raise InvalidParameterValueError("Enabled must be a boolean.")
    types = body.get("FunctionResponseTypes")
    scaling = _object(body, "ScalingConfig")
    criteria = _object(body, "FilterCriteria")
    patterns: tuple[str, ...] | None = None
    if criteria is not None:
        filters = criteria.get("Filters") or []
        if not isinstance(filters, list) or not all(isinstance(f, dict) for f in filters):
            raise InvalidParameterValueError("FilterCriteria.Filters must be a list of objects.")
        patterns = tuple(str(f.get("Pattern") or "") for f in filters)
    tags = _object(body, "Tags")
    if tags is not None and not all(isinstance(v, str) for v in tags.values()):
        raise InvalidParameterValueError("Tags must map keys to string values.")
    queues = body.get("Queues")
    return MappingChanges(
        function_name=params.optional_string(body, "FunctionName"),
        enabled=enabled,
        batch_size=_int(body, "BatchSize"),
        batching_window_s=_int(body, "MaximumBatchingWindowInSeconds"),
        response_types=None if types is None else _strings(types, "FunctionResponseTypes"),
        scaling_given=scaling is not None,
        maximum_concurrency=None if scaling is None else _int(scaling, "MaximumConcurrency"),
        filter_patterns=patterns,
        tags=tags,
        queues=None if queues is None else _strings(queues, "Queues"),
        source_access=_source_access(body),
        other_parameters=tuple(
            name for name in OTHER_PARAMETERS if body.get(name) not in (None, {}, [], "")
        ),
    )


class MappingsApi:
    def __init__(self, *, mappings: MappingDirectory, arns: Arns) -> None:
        self._mappings = mappings
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        one = PATH + "/{uuid}"
        return [
            Route(PATH, self.create, methods=["POST"], name="CreateEventSourceMapping"),
            Route(PATH + "/", self.create, methods=["POST"], name="CreateEventSourceMapping"),
            Route(PATH, self.list, methods=["GET"], name="ListEventSourceMappings"),
            Route(PATH + "/", self.list, methods=["GET"], name="ListEventSourceMappings"),
            Route(one, self.get, methods=["GET"], name="GetEventSourceMapping"),
            Route(one, self.update, methods=["PUT"], name="UpdateEventSourceMapping"),
            Route(one, self.delete, methods=["DELETE"], name="DeleteEventSourceMapping"),
        ]

    def arn(self, uuid: str) -> str:
        arns = self._arns
        return f"arn:aws:lambda:{arns.region}:{arns.account}:event-source-mapping:{uuid}"

    def render(self, mapping: EventSourceMapping, state: str | None = None) -> dict[str, Any]:
        s = mapping.settings
        body: dict[str, Any] = {
            "UUID": mapping.uuid,
            "BatchSize": s.batch_size,
            "MaximumBatchingWindowInSeconds": s.batching_window_s,
            "EventSourceArn": mapping.source_arn,
            "FunctionArn": self._arns.function(s.function_name, s.qualifier),
            "LastModified": mapping.last_modified,
            "State": state or mapping.state,
            "StateTransitionReason": mapping.state_reason,
            "FunctionResponseTypes": list(s.response_types),
            "EventSourceMappingArn": self.arn(mapping.uuid),
        }
        if s.maximum_concurrency is not None:
            body["ScalingConfig"] = {"MaximumConcurrency": s.maximum_concurrency}
        if s.filter_patterns:
            body["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in s.filter_patterns]}
        if s.queues:
            body["Queues"] = list(s.queues)
        if s.source_access:
            # The secret's ARN, never what it holds.
            body["SourceAccessConfigurations"] = [
                {"Type": a.type, "URI": a.uri} for a in s.source_access
            ]
        if mapping.last_processing_result is not None:
            body["LastProcessingResult"] = mapping.last_processing_result
        return body

    async def create(self, request: Request) -> Response:
        body = await params.json_body(request, MAX_BODY)
        source_arn = params.optional_string(body, "EventSourceArn")
        mapping, state = await self._mappings.create(source_arn, parse_changes(body))
        return json_response(self.render(mapping, state), status=202)

    async def get(self, request: Request) -> Response:
        return json_response(self.render(self._mappings.get(request.path_params["uuid"])))

    async def list(self, request: Request) -> Response:
        query = request.query_params
        found = self._mappings.list(
            source_arn=query.get("EventSourceArn") or None,
            function_name=query.get("FunctionName") or None,
        )
        max_items = params.max_items(request, default=100, high=10_000)
        start = params.offset_marker(request)
        page = found[start : start + max_items]
        answer: dict[str, Any] = {"EventSourceMappings": [self.render(m) for m in page]}
        if start + max_items < len(found):
            answer["NextMarker"] = str(start + max_items)
        return json_response(answer)

    async def update(self, request: Request) -> Response:
        body = await params.json_body(request, MAX_BODY)
        mapping, state = await self._mappings.update(
            request.path_params["uuid"], parse_changes(body)
        )
        return json_response(self.render(mapping, state), status=202)

    async def delete(self, request: Request) -> Response:
        mapping = await self._mappings.delete(request.path_params["uuid"])
        return json_response(self.render(mapping, "Deleting"), status=202)
