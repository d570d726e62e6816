"""Route table: layers (PublishLayerVersion, GetLayerVersion[ByArn], ListLayers,
ListLayerVersions, DeleteLayerVersion and the layer version permissions)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.control import layer_rules, validation
from nimbus.control.layers import LayerService
from nimbus.errors import InvalidParameterValueError, ServiceError
from nimbus.frontend import params
from nimbus.frontend.context import Services
from nimbus.frontend.functions_api import json_response
from nimbus.model.layer import LayerVersion

MAX_LIST_ITEMS = 50


def _layers(services: Services) -> LayerService:
    if services.layers is None:
        raise ServiceError("Layers are not configured on this node.")
    return services.layers


def layer_version_item(version: LayerVersion, layers: LayerService) -> dict[str, Any]:
    """LayerVersionsListItem; GetLayerVersion/PublishLayerVersion add LayerArn and Content."""
    body: dict[str, Any] = {
        "LayerVersionArn": layers.arns.layer_version(version.name, version.version),
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


def layer_version_body(version: LayerVersion, request: Request) -> dict[str, Any]:
    layers = _layers(Services.of(request))
    base = str(request.base_url).rstrip("/")
    return {
        "Content": {
            # Served by the functions route table, like a function's Code.Location.
            "Location": f"{base}/_nimbus/code/{version.blob}.zip",
            "CodeSha256": version.code_sha256,
            "CodeSize": version.code_size,
        },
        "LayerArn": layers.arns.layer(version.name),
        **layer_version_item(version, layers),
    }


def _name(layers: LayerService, request: Request) -> str:
    return layers.check_name(layer_rules.layer_name(request.path_params["layer"]))


def _version(request: Request) -> int:
    return layer_rules.version_number(request.path_params["version"])


async def publish_layer_version(request: Request) -> Response:
    layers = _layers(Services.of(request))
    name = _name(layers, request)
    body = await params.json_body(request, params.MAX_CODE_REQUEST)
    content = body.get("Content")
    if not isinstance(content, dict) or "ZipFile" not in content:
        if isinstance(content, dict) and "S3Bucket" in content:
            raise InvalidParameterValueError(
                "Only Content.ZipFile is supported by Nimbus: S3 is not."
            )
        raise InvalidParameterValueError("Content.ZipFile is required: a base64-encoded zip.")
    code = await asyncio.to_thread(validation.zip_file, content["ZipFile"])
    version = await layers.publish(
        name,
        code=code,
        description=layer_rules.optional_text(body.get("Description"), "Description", 256) or "",
        runtimes=layer_rules.compatible_runtimes(body.get("CompatibleRuntimes")),
        architectures=layer_rules.compatible_architectures(body.get("CompatibleArchitectures")),
        license_info=layer_rules.optional_text(body.get("LicenseInfo"), "LicenseInfo", 512),
    )
    return json_response(layer_version_body(version, request), 201)


async def get_layer_version(request: Request) -> Response:
    layers = _layers(Services.of(request))
    version = await layers.get(_name(layers, request), _version(request))
    return json_response(layer_version_body(version, request))


async def list_layers(request: Request) -> Response:
    """GET /2018-10-31/layers: ListLayers, or GetLayerVersionByArn with ?find=LayerVersion."""
    layers = _layers(Services.of(request))
    if request.query_params.get("find") == "LayerVersion":
        arn = layer_rules.version_arn(request.query_params.get("Arn"))
        return json_response(layer_version_body(await layers.get_by_arn(arn), request))
    page, next_marker = await layers.list_layers(
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
                "LayerArn": layers.arns.layer(v.name),
                "LatestMatchingVersion": layer_version_item(v, layers),
            }
            for v in page
        ]
    }
    if next_marker is not None:
        body["NextMarker"] = next_marker
    return json_response(body)


async def list_layer_versions(request: Request) -> Response:
    layers = _layers(Services.of(request))
    page, next_marker = await layers.list_versions(
        _name(layers, request),
        runtime=layer_rules.runtime_filter(request.query_params.get("CompatibleRuntime")),
        architecture=layer_rules.architecture_filter(
            request.query_params.get("CompatibleArchitecture")
        ),
        marker=params.marker(request),
        max_items=params.max_items(request, default=MAX_LIST_ITEMS, high=MAX_LIST_ITEMS),
    )
    body: dict[str, Any] = {"LayerVersions": [layer_version_item(v, layers) for v in page]}
    if next_marker is not None:
        body["NextMarker"] = next_marker
    return json_response(body)


async def delete_layer_version(request: Request) -> Response:
    layers = _layers(Services.of(request))
    await layers.delete(_name(layers, request), _version(request))
    return Response(status_code=204)


async def add_layer_version_permission(request: Request) -> Response:
    layers = _layers(Services.of(request))
    name, number = _name(layers, request), _version(request)
    body = await params.json_body(request)
    statement, revision_id = await layers.add_permission(
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
    document = layer_rules.statement_document(statement, layers.arns.layer_version(name, number))
    return json_response(
        {"Statement": orjson.dumps(document).decode(), "RevisionId": revision_id}, 201
    )


async def remove_layer_version_permission(request: Request) -> Response:
    layers = _layers(Services.of(request))
    await layers.remove_permission(
        _name(layers, request),
        _version(request),
        request.path_params["sid"],
        revision_id=request.query_params.get("RevisionId"),
    )
    return Response(status_code=204)


async def get_layer_version_policy(request: Request) -> Response:
    layers = _layers(Services.of(request))
    name, number = _name(layers, request), _version(request)
    policy = await layers.policy(name, number)
    document = layer_rules.policy_document(
        policy.statements, layers.arns.layer_version(name, number)
    )
    return json_response(
        {"Policy": orjson.dumps(document).decode(), "RevisionId": policy.revision_id}
    )


PREFIX = "/2018-10-31/layers"
VERSION = PREFIX + "/{layer}/versions/{version}"

routes = [
    Route(PREFIX, list_layers, methods=["GET"], name="ListLayers"),
    Route(
        PREFIX + "/{layer}/versions",
        publish_layer_version,
        methods=["POST"],
        name="PublishLayerVersion",
    ),
    Route(
        PREFIX + "/{layer}/versions", list_layer_versions, methods=["GET"], name="ListLayerVersions"
    ),
    Route(VERSION, get_layer_version, methods=["GET"], name="GetLayerVersion"),
    Route(VERSION, delete_layer_version, methods=["DELETE"], name="DeleteLayerVersion"),
    Route(
        VERSION + "/policy",
        add_layer_version_permission,
        methods=["POST"],
        name="AddLayerVersionPermission",
    ),
    Route(
        VERSION + "/policy",
        get_layer_version_policy,
        methods=["GET"],
        name="GetLayerVersionPolicy",
    ),
    Route(
        VERSION + "/policy/{sid}",
        remove_layer_version_permission,
        methods=["DELETE"],
        name="RemoveLayerVersionPermission",
    ),
]
