"""apigatewayv2's JSON wire shapes <-> ``model.http_api`` values (botocore's apigatewayv2
model: restJson, members in lowerCamel case — ``apiId``, ``corsConfiguration``,
``createdDate`` as ISO 8601).

Requests are read member by member into the model's field names (``*_fields``), each checked
by ``control.http_api_rules``; members that would change what AWS does but that Nimbus does not
implement are refused (``BadRequestException`` naming them), never accepted and ignored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from nimbus.control import http_api_rules as rules
from nimbus.errors import BadRequestError
from nimbus.model.http_api import ApiCors, HttpApi, Integration, Route, Stage
from nimbus.web.endpoints import EndpointNames

Reader = Callable[[object], object]

_API_READERS: dict[str, tuple[str, Reader]] = {
    "name": ("name", rules.name),
    "description": (
        "description",
        lambda v: rules.optional_string(v, "Description", high=1024),
    ),
    "version": ("version", lambda v: rules.string_field(v, "Version", low=1, high=64)),
    "corsConfiguration": ("cors", rules.cors),
    "disableExecuteApiEndpoint": (
        "disable_execute_api_endpoint",
        lambda v: rules.boolean(v, "DisableExecuteApiEndpoint"),
    ),
    "routeSelectionExpression": ("route_selection_expression", lambda v: _route_selection(v)),
    "apiKeySelectionExpression": (
        "api_key_selection_expression",
        lambda v: rules.string_field(v, "ApiKeySelectionExpression", low=1, high=256),
    ),
    "ipAddressType": (
        "ip_address_type",
        lambda v: _one_of(v, "IpAddressType", "ipv4", "dualstack"),
    ),
}
_INTEGRATION_READERS: dict[str, tuple[str, Reader]] = {
    "integrationType": ("integration_type", rules.integration_type),
    "integrationUri": ("integration_uri", rules.integration_uri),
    "payloadFormatVersion": ("payload_format_version", rules.payload_format_version),
    "timeoutInMillis": ("timeout_ms", rules.timeout_ms),
    "description": (
        "description",
        lambda v: rules.optional_string(v, "Description", high=1024),
    ),
    "integrationMethod": (
        "integration_method",
        lambda v: rules.string_field(v, "IntegrationMethod", low=1, high=64),
    ),
    "connectionType": ("connection_type", lambda v: _one_of(v, "ConnectionType", "INTERNET")),
}
_ROUTE_READERS: dict[str, tuple[str, Reader]] = {
    "routeKey": ("route_key", rules.route_key),
    "target": ("target", rules.target),
    "authorizationType": ("authorization_type", rules.authorization_type),
    "apiKeyRequired": ("api_key_required", lambda v: _false(v, "ApiKeyRequired")),
    "operationName": (
        "operation_name",
        lambda v: rules.string_field(v, "OperationName", low=1, high=64),
    ),
}
_STAGE_READERS: dict[str, tuple[str, Reader]] = {
    "stageName": ("stage_name", rules.stage_name),
    "autoDeploy": ("auto_deploy", lambda v: rules.boolean(v, "AutoDeploy")),
    "description": (
        "description",
        lambda v: rules.optional_string(v, "Description", high=1024),
    ),
    "stageVariables": ("stage_variables", rules.stage_variables),
}
# Members that change what AWS does and that Nimbus does not implement.
_UNSUPPORTED: dict[str, tuple[str, ...]] = {
    "api": ("credentialsArn", "disableSchemaValidation"),
    "integration": (
        "credentialsArn",
        "connectionId",
        "integrationSubtype",
        "requestParameters",
        "responseParameters",
        "requestTemplates",
        "templateSelectionExpression",
        "tlsConfig",
        "contentHandlingStrategy",
        "passthroughBehavior",
    ),
    "route": (
        "authorizerId",
        "authorizationScopes",
        "requestParameters",
        "requestModels",
        "modelSelectionExpression",
        "routeResponseSelectionExpression",
    ),
    "stage": (
        "accessLogSettings",
        "clientCertificateId",
        "defaultRouteSettings",
        "deploymentId",
        "routeSettings",
    ),
}


def _one_of(value: object, field: str, *allowed: str) -> str:
    if value not in allowed:
        raise BadRequestError(f"{field} must be one of: {', '.join(allowed)}.")
    return str(value)


def _false(value: object, field: str) -> bool:
    if rules.boolean(value, field):
        raise BadRequestError(f"{field} is not supported for HTTP APIs: set it to false.")
    return False


def _route_selection(value: object) -> str:
    # HTTP APIs route by method and path only ("$request.method $request.path").
    return _one_of(value, "RouteSelectionExpression", "$request.method $request.path")


def _read(
    body: Mapping[str, Any], readers: Mapping[str, tuple[str, Reader]], kind: str
) -> dict[str, Any]:
    for member in _UNSUPPORTED[kind]:
        if body.get(member) not in (None, {}, []):
            raise BadRequestError(
                f"{member[0].upper()}{member[1:]} is not supported by Nimbus's HTTP APIs: "
                "leave it out."
            )
    fields: dict[str, Any] = {}
    for member, (field, reader) in readers.items():
        if member in body and body[member] is not None:
            fields[field] = reader(body[member])
    return fields


def api_fields(body: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    fields = _read(body, _API_READERS, "api")
    if create:
        rules.protocol_type(body.get("protocolType"))
        fields["name"] = rules.name(body.get("name"))
        if body.get("tags") is not None:
            fields["tags"] = rules.tags(body["tags"])
    return fields


def integration_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    return _read(body, _INTEGRATION_READERS, "integration")


def route_fields(body: Mapping[str, Any]) -> dict[str, Any]:
    return _read(body, _ROUTE_READERS, "route")


def stage_fields(body: Mapping[str, Any], *, create: bool) -> dict[str, Any]:
    fields = _read(body, _STAGE_READERS, "stage")
    if create and body.get("tags") is not None:
        fields["tags"] = rules.tags(body["tags"])
    return fields


# --- responses ----------------------------------------------------------------------------------


def timestamp(epoch: float) -> str:
    """ISO 8601, as botocore's ``timestampIso8601`` members are sent."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cors(cors: ApiCors) -> dict[str, Any]:
    shape: dict[str, Any] = {}
    for member, values in (
        ("allowHeaders", cors.allow_headers),
        ("allowMethods", cors.allow_methods),
        ("allowOrigins", cors.allow_origins),
        ("exposeHeaders", cors.expose_headers),
    ):
        if values:
            shape[member] = list(values)
    if cors.allow_credentials is not None:
        shape["allowCredentials"] = cors.allow_credentials
    if cors.max_age is not None:
        shape["maxAge"] = cors.max_age
    return shape


def api_shape(api: HttpApi, names: EndpointNames) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "apiEndpoint": names.url("api", api.api_id).rstrip("/"),
        "apiId": api.api_id,
        "apiKeySelectionExpression": api.api_key_selection_expression,
        "createdDate": timestamp(api.created),
        "disableExecuteApiEndpoint": api.disable_execute_api_endpoint,
        "ipAddressType": api.ip_address_type,
        "name": api.name,
        "protocolType": api.protocol_type,
        "routeSelectionExpression": api.route_selection_expression,
        "tags": dict(api.tags),
    }
    if api.cors is not None:
        shape["corsConfiguration"] = _cors(api.cors)
    if api.description is not None:
        shape["description"] = api.description
    if api.version is not None:
        shape["version"] = api.version
    return shape


def integration_shape(integration: Integration) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "connectionType": integration.connection_type,
        "integrationId": integration.integration_id,
        "integrationMethod": integration.integration_method,
        "integrationType": integration.integration_type,
        "integrationUri": integration.integration_uri,
        "payloadFormatVersion": integration.payload_format_version,
        "timeoutInMillis": integration.timeout_ms,
    }
    if integration.api_gateway_managed:
        shape["apiGatewayManaged"] = True
    if integration.description is not None:
        shape["description"] = integration.description
    return shape


def route_shape(route: Route) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "apiKeyRequired": route.api_key_required,
        "authorizationType": route.authorization_type,
        "routeId": route.route_id,
        "routeKey": route.route_key,
    }
    if route.api_gateway_managed:
        shape["apiGatewayManaged"] = True
    if route.target is not None:
        shape["target"] = route.target
    if route.operation_name is not None:
        shape["operationName"] = route.operation_name
    return shape


def stage_shape(stage: Stage) -> dict[str, Any]:
    shape: dict[str, Any] = {
        "autoDeploy": stage.auto_deploy,
        "createdDate": timestamp(stage.created),
        "defaultRouteSettings": {"detailedMetricsEnabled": False},
        "lastUpdatedDate": timestamp(stage.last_updated),
        "routeSettings": {},
        "stageName": stage.stage_name,
        "stageVariables": dict(stage.stage_variables),
        "tags": dict(stage.tags),
    }
    if stage.api_gateway_managed:
        shape["apiGatewayManaged"] = True
    if stage.description is not None:
        shape["description"] = stage.description
    return shape


def page(items: list[dict[str, Any]], next_token: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"items": items}
    if next_token is not None:
        body["nextToken"] = next_token
    return body
