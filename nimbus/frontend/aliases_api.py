"""Route table: aliases (CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control import alias_rules
from nimbus.control.aliases import AliasService
from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.alias import Alias
from nimbus.model.arn import Arns

PREFIX = "/2015-03-31/functions/{name}/aliases"


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


class AliasesApi:
    def __init__(self, *, aliases: AliasService, arns: Arns) -> None:
        self._aliases = aliases
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX, self.create_alias, methods=["POST"], name="CreateAlias"),
            Route(PREFIX, self.list_aliases, methods=["GET"], name="ListAliases"),
            Route(PREFIX + "/{alias}", self.get_alias, methods=["GET"], name="GetAlias"),
            Route(PREFIX + "/{alias}", self.update_alias, methods=["PUT"], name="UpdateAlias"),
            Route(PREFIX + "/{alias}", self.delete_alias, methods=["DELETE"], name="DeleteAlias"),
        ]

    async def create_alias(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        body = await params.json_body(request)
        alias = await self._aliases.create(
            name,
            alias=alias_rules.alias_name(body.get("Name")),
            version=alias_rules.function_version(body.get("FunctionVersion")),
            description=alias_rules.description(body.get("Description", "")),
            weights=alias_rules.weights(body.get("RoutingConfig")),
        )
        return json_response(alias_configuration(alias, self._arns), 201)

    async def get_alias(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        alias = await self._aliases.get(name, alias_rules.alias_name(request.path_params["alias"]))
        return json_response(alias_configuration(alias, self._arns))

    async def update_alias(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        body = await params.json_body(request)
        version = body.get("FunctionVersion")
        description = body.get("Description")
        alias = await self._aliases.update(
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
        return json_response(alias_configuration(alias, self._arns))

    async def delete_alias(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        await self._aliases.delete(name, alias_rules.alias_name(request.path_params["alias"]))
        return Response(status_code=204)

    async def list_aliases(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        version = request.query_params.get("FunctionVersion")
        page, next_marker = await self._aliases.list(
            name,
            version=None if version is None else alias_rules.function_version(version),
            marker=params.marker(request),
            max_items=params.max_items(request, default=50, high=10_000),
        )
        body: dict[str, Any] = {"Aliases": [alias_configuration(a, self._arns) for a in page]}
        if next_marker is not None:
            body["NextMarker"] = next_marker
        return json_response(body)
