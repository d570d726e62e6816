"""Route table: function versions (PublishVersion, ListVersionsByFunction)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.control import alias_rules
from nimbus.control.versions import VersionService
from nimbus.errors import ServiceError
from nimbus.frontend import params, wire
from nimbus.frontend.context import Services
from nimbus.frontend.functions_api import json_response
from nimbus.model.function import FunctionConfig


def _versions(services: Services) -> VersionService:
    if services.versions is None:
        raise ServiceError("Versions are not configured on this node.")
    return services.versions


def _listed(config: FunctionConfig, services: Services) -> dict[str, Any]:
    body = wire.function_configuration(config, services.functions.arns)
    # ListVersionsByFunction names $LATEST by its qualified ARN, unlike GetFunction.
    body["FunctionArn"] = services.functions.arns.function(config.name, config.version)
    return body


async def publish_version(request: Request) -> Response:
    services = Services.of(request)
    name = params.function_name(services, request)
    body = await params.json_body(request)
    description = body.get("Description")
    config = await _versions(services).publish(
        name,
        code_sha256=params.optional_string(body, "CodeSha256"),
        revision_id=params.optional_string(body, "RevisionId"),
        description=None if description is None else alias_rules.description(description),
    )
    return json_response(wire.function_configuration(config, services.functions.arns), 201)


async def list_versions(request: Request) -> Response:
    services = Services.of(request)
    name = params.function_name(services, request)
    page, next_marker = await _versions(services).list(
        name,
        marker=params.marker(request),
        max_items=params.max_items(request, default=50, high=10_000),
    )
    body: dict[str, Any] = {"Versions": [_listed(c, services) for c in page]}
    if next_marker is not None:
        body["NextMarker"] = next_marker
    return json_response(body)


PREFIX = "/2015-03-31/functions/{name}/versions"

routes = [
    Route(PREFIX, publish_version, methods=["POST"], name="PublishVersion"),
    Route(PREFIX, list_versions, methods=["GET"], name="ListVersionsByFunction"),
]
