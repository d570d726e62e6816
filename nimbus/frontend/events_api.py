"""Route table: asynchronous invocation settings (the event-invoke-config API) and the legacy
InvokeAsync operation."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control.event_config import EventConfigService
from nimbus.errors import (
    InvalidParameterValueError,
    InvalidRequestContentError,
    RequestTooLargeError,
)
from nimbus.frontend import params
from nimbus.frontend.body import parse_json_object, read_limited
from nimbus.frontend.ports import EventAcceptor
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns, merge_qualifier
from nimbus.model.event_config import EventInvokeConfig
from nimbus.model.invoke import InvokeCall

MAX_BODY = 65_536
ASYNC_LIMIT = 1_048_576
CONFIG_PATH = "/2019-09-25/functions/{name}/event-invoke-config"
INVOKE_ASYNC_PATH = "/2014-11-13/functions/{name}/invoke-async"


async def _body(request: Request) -> dict[str, Any]:
    raw = await read_limited(
        request, MAX_BODY, RequestTooLargeError(f"Request must be smaller than {MAX_BODY} bytes")
    )
    return parse_json_object(raw)


def _require_a_setting(body: dict[str, Any]) -> None:
    """A Put or Update must name at least one setting; AWS checks this before it looks the
    function up (a request naming nothing for a missing function is a 400, not a 404). An
    empty DestinationConfig counts as named, as on AWS."""
    if all(
        body.get(member) is None
        for member in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
    ):
        raise InvalidParameterValueError(
            "You must specify at least one of error handling or destination setting."
        )


def _destination(body: dict[str, Any], which: str) -> str | None:
    config = body.get("DestinationConfig") or {}
    if not isinstance(config, dict):
        raise InvalidParameterValueError("DestinationConfig must be an object.")
    entry = config.get(which) or {}
    if not isinstance(entry, dict):
        raise InvalidParameterValueError(f"DestinationConfig.{which} must be an object.")
    value = entry.get("Destination")
    return None if value in (None, "") else str(value)


class EventsApi:
    def __init__(
        self, *, event_configs: EventConfigService, events: EventAcceptor, arns: Arns
    ) -> None:
        self._configs = event_configs
        self._events = events
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        return [
            Route(
                CONFIG_PATH, self.put_config, methods=["PUT"], name="PutFunctionEventInvokeConfig"
            ),
            Route(
                CONFIG_PATH,
                self.update_config,
                methods=["POST"],
                name="UpdateFunctionEventInvokeConfig",
            ),
            Route(
                CONFIG_PATH, self.get_config, methods=["GET"], name="GetFunctionEventInvokeConfig"
            ),
            Route(
                CONFIG_PATH,
                self.delete_config,
                methods=["DELETE"],
                name="DeleteFunctionEventInvokeConfig",
            ),
            Route(
                f"{CONFIG_PATH}/list",
                self.list_configs,
                methods=["GET"],
                name="ListFunctionEventInvokeConfigs",
            ),
            Route(INVOKE_ASYNC_PATH, self.invoke_async, methods=["POST"]),
            Route(INVOKE_ASYNC_PATH + "/", self.invoke_async, methods=["POST"]),
        ]

    def _target(self, request: Request, *, allow_qualifier: bool = True) -> tuple[str, str | None]:
        ref = params.function_ref(self._arns, request, allow_qualifier=allow_qualifier)
        return ref.name, merge_qualifier(ref, request.query_params.get("Qualifier"))

    def _render(self, config: EventInvokeConfig) -> dict[str, Any]:
        body: dict[str, Any] = {
            "LastModified": config.last_modified,
            "FunctionArn": self._arns.function(config.function_name, config.qualifier),
            "DestinationConfig": {
                "OnSuccess": {"Destination": config.on_success} if config.on_success else {},
                "OnFailure": {"Destination": config.on_failure} if config.on_failure else {},
            },
        }
        if config.maximum_retry_attempts is not None:
            body["MaximumRetryAttempts"] = config.maximum_retry_attempts
        if config.maximum_event_age_s is not None:
            body["MaximumEventAgeInSeconds"] = config.maximum_event_age_s
        return body

    async def put_config(self, request: Request) -> Response:
        name, qualifier = self._target(request)
        body = await _body(request)
        _require_a_setting(body)
        config = await self._configs.put(
            name,
            qualifier,
            maximum_retry_attempts=body.get("MaximumRetryAttempts"),
            maximum_event_age_s=body.get("MaximumEventAgeInSeconds"),
            on_success=_destination(body, "OnSuccess"),
            on_failure=_destination(body, "OnFailure"),
        )
        return json_response(self._render(config))

    async def update_config(self, request: Request) -> Response:
        name, qualifier = self._target(request)
        body = await _body(request)
        _require_a_setting(body)
        changes: dict[str, Any] = {}
        if "MaximumRetryAttempts" in body:
            changes["maximum_retry_attempts"] = body["MaximumRetryAttempts"]
        if "MaximumEventAgeInSeconds" in body:
            changes["maximum_event_age_s"] = body["MaximumEventAgeInSeconds"]
        destinations = body.get("DestinationConfig")
        if isinstance(destinations, dict):
            if "OnSuccess" in destinations:
                changes["on_success"] = _destination(body, "OnSuccess")
            if "OnFailure" in destinations:
                changes["on_failure"] = _destination(body, "OnFailure")
        config = await self._configs.update(name, qualifier, **changes)
        return json_response(self._render(config))

    async def get_config(self, request: Request) -> Response:
        name, qualifier = self._target(request)
        return json_response(self._render(await self._configs.get(name, qualifier)))

    async def delete_config(self, request: Request) -> Response:
        name, qualifier = self._target(request)
        await self._configs.delete(name, qualifier)
        return Response(status_code=204)

    async def list_configs(self, request: Request) -> Response:
        name, _ = self._target(request, allow_qualifier=False)
        max_items = params.max_items(request, default=50, high=50)
        configs = await self._configs.list(name)
        start = params.offset_marker(request)
        page = configs[start : start + max_items]
        body: dict[str, Any] = {"FunctionEventInvokeConfigs": [self._render(c) for c in page]}
        if start + max_items < len(configs):
            body["NextMarker"] = str(start + max_items)
        return json_response(body)

    async def invoke_async(self, request: Request) -> Response:
        """The deprecated InvokeAsync: the same as Invoke with InvocationType=Event."""
        name, qualifier = self._target(request)
        payload = await read_limited(
            request,
            ASYNC_LIMIT,
            RequestTooLargeError(
                f"Request must be smaller than {ASYNC_LIMIT} bytes for the InvokeAsync operation"
            ),
        )
        if payload.strip():
            try:
                orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise InvalidRequestContentError(
                    f"Could not parse request body into json: {exc}"
                ) from exc
        request_id = await self._events.accept(
            InvokeCall(
                function_name=name,
                qualifier=qualifier,
                payload=payload,
                invocation_type="Event",
                trace_header=request.headers.get("x-amzn-trace-id"),
            )
        )
        return Response(
            orjson.dumps({"Status": 202}),
            status_code=202,
            headers={"x-amzn-RequestId": request_id},
            media_type="application/json",
        )
