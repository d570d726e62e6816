"""Route table: asynchronous invocation settings (the event-invoke-config API) and the legacy
InvokeAsync operation."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.control.event_config import EventConfigService
from nimbus.errors import (
    InvalidParameterValueError,
    InvalidRequestContentError,
    RequestTooLargeError,
    ServiceError,
)
from nimbus.frontend.body import parse_json_object, read_limited
from nimbus.frontend.context import Services
from nimbus.model.arn import merge_qualifier, parse_function_ref
from nimbus.model.event_config import EventInvokeConfig
from nimbus.model.invoke import InvokeCall

MAX_BODY = 65_536
ASYNC_LIMIT = 1_048_576


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _configs(services: Services) -> EventConfigService:
    if services.event_configs is None:
        raise ServiceError("This node does not serve asynchronous invocation settings.")
    return services.event_configs


def _target(request: Request, *, allow_qualifier: bool = True) -> tuple[str, str | None]:
    services = Services.of(request)
    ref = parse_function_ref(request.path_params["name"], allow_qualifier=allow_qualifier)
    services.functions.arns.check_owner(ref)
    return ref.name, merge_qualifier(ref, request.query_params.get("Qualifier"))


async def _body(request: Request) -> dict[str, Any]:
    raw = await read_limited(
        request, MAX_BODY, RequestTooLargeError(f"Request must be smaller than {MAX_BODY} bytes")
    )
    return parse_json_object(raw)


def _destination(body: dict[str, Any], which: str) -> str | None:
    config = body.get("DestinationConfig") or {}
    if not isinstance(config, dict):
        raise InvalidParameterValueError("DestinationConfig must be an object.")
    entry = config.get(which) or {}
    if not isinstance(entry, dict):
        raise InvalidParameterValueError(f"DestinationConfig.{which} must be an object.")
    value = entry.get("Destination")
    return None if value in (None, "") else str(value)


def render(config: EventInvokeConfig, services: Services) -> dict[str, Any]:
    body: dict[str, Any] = {
        "LastModified": config.last_modified,
        "FunctionArn": services.functions.arns.function(config.function_name, config.qualifier),
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


async def put_config(request: Request) -> Response:
    services = Services.of(request)
    name, qualifier = _target(request)
    body = await _body(request)
    config = await _configs(services).put(
        name,
        qualifier,
        maximum_retry_attempts=body.get("MaximumRetryAttempts"),
        maximum_event_age_s=body.get("MaximumEventAgeInSeconds"),
        on_success=_destination(body, "OnSuccess"),
        on_failure=_destination(body, "OnFailure"),
    )
    return _json(render(config, services))


async def update_config(request: Request) -> Response:
    services = Services.of(request)
    name, qualifier = _target(request)
    body = await _body(request)
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
    config = await _configs(services).update(name, qualifier, **changes)
    return _json(render(config, services))


async def get_config(request: Request) -> Response:
    services = Services.of(request)
    name, qualifier = _target(request)
    return _json(render(await _configs(services).get(name, qualifier), services))


async def delete_config(request: Request) -> Response:
    services = Services.of(request)
    name, qualifier = _target(request)
    await _configs(services).delete(name, qualifier)
    return Response(status_code=204)


async def list_configs(request: Request) -> Response:
    services = Services.of(request)
    name, _ = _target(request, allow_qualifier=False)
    raw_max = request.query_params.get("MaxItems")
    if raw_max is not None and (not raw_max.isdigit() or not 1 <= int(raw_max) <= 50):
        raise InvalidParameterValueError("MaxItems must be between 1 and 50.")
    max_items = int(raw_max or 50)
    configs = await _configs(services).list(name)
    marker = request.query_params.get("Marker")
    start = int(marker) if marker and marker.isdigit() else 0
    page = configs[start : start + max_items]
    body: dict[str, Any] = {"FunctionEventInvokeConfigs": [render(c, services) for c in page]}
    if start + max_items < len(configs):
        body["NextMarker"] = str(start + max_items)
    return _json(body)


async def invoke_async(request: Request) -> Response:
    """The deprecated InvokeAsync: the same as Invoke with InvocationType=Event."""
    services = Services.of(request)
    if services.events is None:
        raise ServiceError("This node does not accept asynchronous invocations.")
    name, qualifier = _target(request)
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
    request_id = await services.events.accept(
        InvokeCall(
            function_name=name, qualifier=qualifier, payload=payload, invocation_type="Event"
        )
    )
    return Response(
        orjson.dumps({"Status": 202}),
        status_code=202,
        headers={"x-amzn-RequestId": request_id},
        media_type="application/json",
    )


_CONFIG = "/2019-09-25/functions/{name}/event-invoke-config"
routes = [
    Route(_CONFIG, put_config, methods=["PUT"], name="PutFunctionEventInvokeConfig"),
    Route(_CONFIG, update_config, methods=["POST"], name="UpdateFunctionEventInvokeConfig"),
    Route(_CONFIG, get_config, methods=["GET"], name="GetFunctionEventInvokeConfig"),
    Route(_CONFIG, delete_config, methods=["DELETE"], name="DeleteFunctionEventInvokeConfig"),
    Route(f"{_CONFIG}/list", list_configs, methods=["GET"], name="ListFunctionEventInvokeConfigs"),
    Route("/2014-11-13/functions/{name}/invoke-async", invoke_async, methods=["POST"]),
    Route("/2014-11-13/functions/{name}/invoke-async/", invoke_async, methods=["POST"]),
]
