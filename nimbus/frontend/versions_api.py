"""Route table: function versions (PublishVersion, ListVersionsByFunction)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control import alias_rules
from nimbus.control.versions import VersionService
from nimbus.frontend import params, wire
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns
from nimbus.model.function import FunctionConfig

PREFIX = "/2015-03-31/functions/{name}/versions"


class VersionsApi:
    def __init__(self, *, versions: VersionService, arns: Arns) -> None:
        self._versions = versions
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX, self.publish_version, methods=["POST"], name="PublishVersion"),
            Route(PREFIX, self.list_versions, methods=["GET"], name="ListVersionsByFunction"),
        ]

    def _listed(self, config: FunctionConfig) -> dict[str, Any]:
        body = wire.function_configuration(config, self._arns)
        # ListVersionsByFunction names $LATEST by its qualified ARN, unlike GetFunction.
        body["FunctionArn"] = self._arns.function(config.name, config.version)
        return body

    async def publish_version(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        body = await params.json_body(request)
        description = body.get("Description")
        config = await self._versions.publish(
            name,
            code_sha256=params.optional_string(body, "CodeSha256"),
            revision_id=params.optional_string(body, "RevisionId"),
            description=None if description is None else alias_rules.description(description),
        )
        return json_response(wire.function_configuration(config, self._arns), 201)

    async def list_versions(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        page, next_marker = await self._versions.list(
            name,
            marker=params.marker(request),
            max_items=params.max_items(request, default=50, high=10_000, page=50),
        )
        body: dict[str, Any] = {"Versions": [self._listed(c) for c in page]}
        if next_marker is not None:
            body["NextMarker"] = next_marker
        return json_response(body)
