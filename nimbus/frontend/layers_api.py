"""Route table: layers (PublishLayerVersion, GetLayerVersion[ByArn], ListLayers,
ListLayerVersions, DeleteLayerVersion and the layer version permissions)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control import layer_rules, validation
from nimbus.control.layers import LayerService
from nimbus.errors import InvalidParameterValueError
from nimbus.frontend import params
from nimbus.frontend.code_urls import CodeUrls, code_location
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns
from nimbus.model.layer import LayerVersion

MAX_LIST_ITEMS = 50
PREFIX = "/2018-10-31/layers"
VERSION = PREFIX + "/{layer}/versions/{version}"


def _version(request: Request) -> int:
    return layer_rules.version_number(request.path_params["version"])


class LayersApi:
    def __init__(
        self, *, layers: LayerService, arns: Arns, code_urls: CodeUrls | None = None
    ) -> None:
        self._layers = layers
        self._arns = arns
        self._code_urls = code_urls  # presigned Content.Location (frontend/code_urls.py)

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PREFIX, self.list_layers, methods=["GET"], name="ListLayers"),
            Route(
                PREFIX + "/{layer}/versions",
                self.publish_layer_version,
                methods=["POST"],
                name="PublishLayerVersion",
            ),
            Route(
                PREFIX + "/{layer}/versions",
                self.list_layer_versions,
                methods=["GET"],
                name="ListLayerVersions",
            ),
            Route(VERSION, self.get_layer_version, methods=["GET"], name="GetLayerVersion"),
            Route(
                VERSION, self.delete_layer_version, methods=["DELETE"], name="DeleteLayerVersion"
            ),
            Route(
                VERSION + "/policy",
                self.add_layer_version_permission,
                methods=["POST"],
                name="AddLayerVersionPermission",
            ),
            Route(
                VERSION + "/policy",
                self.get_layer_version_policy,
                methods=["GET"],
                name="GetLayerVersionPolicy",
            ),
            Route(
                VERSION + "/policy/{sid}",
                self.remove_layer_version_permission,
                methods=["DELETE"],
                name="RemoveLayerVersionPermission",
            ),
        ]

    def _name(self, request: Request) -> str:
        return self._layers.check_name(layer_rules.layer_name(request.path_params["layer"]))

    def _item(self, version: LayerVersion) -> dict[str, Any]:
        """LayerVersionsListItem; GetLayerVersion/PublishLayerVersion add LayerArn and
        Content."""
        body: dict[str, Any] = {
            "LayerVersionArn": self._arns.layer_version(version.name, version.version),
            "Version": version.version,
            "Description": version.description,
            "CreatedDate": version.created_date,
        }
        if version.compatible_runtimes:
            body["CompatibleRuntimes"] = list(version.compatible_runtimes)
        if version.compatible_architectures:
            body["CompatibleArchitectures"] = list(version.compatible_architectures)
        if version.license_info is not None:
            body["LicenseInfo"] = version.license_info
        return body

    def _version_body(self, version: LayerVersion, request: Request) -> dict[str, Any]:
        base = str(request.base_url).rstrip("/")
        return {
            "Content": {
                # Served by the functions route table, like a function's Code.Location.
                "Location": code_location(self._code_urls, base, version.blob),
                "CodeSha256": version.code_sha256,
                "CodeSize": version.code_size,
            },
            "LayerArn": self._arns.layer(version.name),
            **self._item(version),
        }

    async def publish_layer_version(self, request: Request) -> Response:
        name = self._name(request)
        body = await params.json_body(request, params.MAX_CODE_REQUEST)
        content = body.get("Content")
        if not isinstance(content, dict) or "ZipFile" not in content:
            if isinstance(content, dict) and "S3Bucket" in content:
                raise InvalidParameterValueError(
                    "Only Content.ZipFile is supported by Nimbus: S3 is not."
                )
            raise InvalidParameterValueError("Content.ZipFile is required: a base64-encoded zip.")
        code = await asyncio.to_thread(validation.zip_file, content["ZipFile"])
        version = await self._layers.publish(
            name,
            code=code,
            description=layer_rules.optional_text(body.get("Description"), "Description", 256)
            or "",
            runtimes=layer_rules.compatible_runtimes(body.get("CompatibleRuntimes")),
            architectures=layer_rules.compatible_architectures(body.get("CompatibleArchitectures")),
            license_info=layer_rules.optional_text(body.get("LicenseInfo"), "LicenseInfo", 512),
        )
        return json_response(self._version_body(version, request), 201)

    async def get_layer_version(self, request: Request) -> Response:
        version = await self._layers.get(self._name(request), _version(request))
        return json_response(self._version_body(version, request))

    async def list_layers(self, request: Request) -> Response:
        """GET /2018-10-31/layers: ListLayers, or GetLayerVersionByArn with ?find=LayerVersion."""
        if request.query_params.get("find") == "LayerVersion":
            arn = layer_rules.version_arn(request.query_params.get("Arn"))
            return json_response(self._version_body(await self._layers.get_by_arn(arn), request))
        page, next_marker = await self._layers.list_layers(
            runtime=layer_rules.runtime_filter(request.query_params.get("CompatibleRuntime")),
            architecture=layer_rules.architecture_filter(
                request.query_params.get("CompatibleArchitecture")
            ),
            marker=params.marker(request),
            max_items=params.max_items(request, default=MAX_LIST_ITEMS, high=MAX_LIST_ITEMS),
        )
        body: dict[str, Any] = {
            "Layers": [
                {
                    "LayerName": v.name,
                    "LayerArn": self._arns.layer(v.name),
                    "LatestMatchingVersion": self._item(v),
                }
                for v in page
            ]
        }
        if next_marker is not None:
            body["NextMarker"] = next_marker
        return json_response(body)

    async def list_layer_versions(self, request: Request) -> Response:
        page, next_marker = await self._layers.list_versions(
            self._name(request),
            runtime=layer_rules.runtime_filter(request.query_params.get("CompatibleRuntime")),
            architecture=layer_rules.architecture_filter(
                request.query_params.get("CompatibleArchitecture")
            ),
            marker=params.marker(request),
            max_items=params.max_items(request, default=MAX_LIST_ITEMS, high=MAX_LIST_ITEMS),
        )
        body: dict[str, Any] = {"LayerVersions": [self._item(v) for v in page]}
        if next_marker is not None:
            body["NextMarker"] = next_marker
        return json_response(body)

    async def delete_layer_version(self, request: Request) -> Response:
        await self._layers.delete(self._name(request), _version(request))
        return Response(status_code=204)

    async def add_layer_version_permission(self, request: Request) -> Response:
        name, number = self._name(request), _version(request)
        body = await params.json_body(request)
        statement, revision_id = await self._layers.add_permission(
            name,
            number,
            layer_rules.statement(
                sid=body.get("StatementId"),
                action=body.get("Action"),
                principal=body.get("Principal"),
                organization_id=body.get("OrganizationId"),
            ),
            revision_id=request.query_params.get("RevisionId"),
        )
        document = layer_rules.statement_document(statement, self._arns.layer_version(name, number))
        return json_response(
            {"Statement": orjson.dumps(document).decode(), "RevisionId": revision_id}, 201
        )

    async def remove_layer_version_permission(self, request: Request) -> Response:
        await self._layers.remove_permission(
            self._name(request),
            _version(request),
            request.path_params["sid"],
            revision_id=request.query_params.get("RevisionId"),
        )
        return Response(status_code=204)

    async def get_layer_version_policy(self, request: Request) -> Response:
        name, number = self._name(request), _version(request)
        policy = await self._layers.policy(name, number)
        document = layer_rules.policy_document(
            policy.statements, self._arns.layer_version(name, number)
        )
        return json_response(
            {"Policy": orjson.dumps(document).decode(), "RevisionId": policy.revision_id}
        )
