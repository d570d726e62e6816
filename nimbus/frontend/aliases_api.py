"""Route table: aliases (CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.control import alias_rules
from nimbus.control.aliases import AliasService
from nimbus.errors import ServiceError
from nimbus.frontend import params
from nimbus.frontend.context import Services
from nimbus.frontend.functions_api import json_response
from nimbus.model.alias import Alias
from nimbus.model.arn import Arns


def alias_configuration(alias: Alias, arns: Arns) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AliasArn": arns.function(alias.function, alias.name),
        "Name": alias.name,
        "FunctionVersion": alias.target.version,
        "Description": alias.description,
        "RevisionId": alias.revision_id,
    }
    if alias.target.weights:
        body["RoutingConfig"] = {"AdditionalVersionWeights": dict(alias.target.weights)}
    return body


def _aliases(services: Services) -> AliasService:
    if services.aliases is None:
        raise ServiceError("Aliases are not configured on this node.")
    return services.aliases


async def create_alias(request: Request) -> Response:
    services = Services.of(request)
    name = params.function_name(services, request)
    body = await params.json_body(request)
    alias = await _aliases(services).create(
        name,
        alias=alias_rules.alias_name(body.get("Name")),
        version=alias_rules.function_version(body.get("FunctionVersion")),
        description=alias_rules.description(body.get("Description", "")),
        weights=alias_rules.weights(body.get("RoutingConfig")),
    )
    return json_response(alias_configuration(alias, services.functions.arns), 201)


async def get_alias(request: Request) -> Response:
    services = Services.of(request)
    name = params.function_name(services, request)
    alias = await _aliases(services).get(name, alias_rules.alias_name(request.path_params["alias"]))
    return json_response(alias_configuration(alias, services.functions.arns))


async def update_alias(request: Request) -> Response:
    services = Services.of(request)
    name = params.function_name(services, request)
    body = await params.json_body(request)
    version = body.get("FunctionVersion")
    description = body.get("Description")
    alias = await _aliases(services).update(
        name,
        alias_rules.alias_name(request.path_params["alias"]),
        version=None if version is None else alias_rules.function_version(version),
        description=None if description is None else alias_rules.description(description),
        weights=(
            alias_rules.weights(body["RoutingConfig"])
            if body.get("RoutingConfig") is not None
            else None
        ),
        revision_id=params.optional_string(body, "RevisionId"),
    )
    return json_response(alias_configuration(alias, services.functions.arns))


async def delete_alias(request: Request) -> Response:
    services = Services.of(request)
    name = params.function_name(services, request)
    await _aliases(services).delete(name, alias_rules.alias_name(request.path_params["alias"]))
    return Response(status_code=204)


async def list_aliases(request: Request) -> Response:
    services = Services.of(request)
    name = params.function_name(services, request)
    version = request.query_params.get("FunctionVersion")
    page, next_marker = await _aliases(services).list(
        name,
        version=None if version is None else alias_rules.function_version(version),
        marker=params.marker(request),
        max_items=params.max_items(request, default=50, high=10_000),
    )
    body: dict[str, Any] = {
        "Aliases": [alias_configuration(a, services.functions.arns) for a in page]
    }
    if next_marker is not None:
        body["NextMarker"] = next_marker
    return json_response(body)


PREFIX = "/2015-03-31/functions/{name}/aliases"

routes = [
    Route(PREFIX, create_alias, methods=["POST"], name="CreateAlias"),
    Route(PREFIX, list_aliases, methods=["GET"], name="ListAliases"),
    Route(PREFIX + "/{alias}", get_alias, methods=["GET"], name="GetAlias"),
    Route(PREFIX + "/{alias}", update_alias, methods=["PUT"], name="UpdateAlias"),
    Route(PREFIX + "/{alias}", delete_alias, methods=["DELETE"], name="DeleteAlias"),
]
