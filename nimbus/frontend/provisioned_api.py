"""Route table: provisioned concurrency configs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.control import validation
from nimbus.control.provisioned import ProvisionedService, ProvisionedView
from nimbus.errors import InvalidParameterValueError
from nimbus.frontend.body import parse_json_object
from nimbus.frontend.context import Services
from nimbus.frontend.functions_api import json_response
from nimbus.model.arn import QUALIFIER_RE, merge_qualifier, parse_function_ref


def _target(request: Request, *, qualified: bool) -> tuple[Services, ProvisionedService, str, str]:
    services = Services.of(request)
    assert services.provisioned is not None
    ref = parse_function_ref(request.path_params["name"])
    services.functions.arns.check_owner(ref)
    qualifier = merge_qualifier(ref, request.query_params.get("Qualifier")) or ""
    if qualified and not QUALIFIER_RE.match(qualifier):
        raise InvalidParameterValueError("Qualifier is required: a version number or an alias.")
    return services, services.provisioned, ref.name, qualifier


def _render(view: ProvisionedView, services: Services | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": view.requested,
        "AvailableProvisionedConcurrentExecutions": view.available,
        "AllocatedProvisionedConcurrentExecutions": view.allocated,
        "Status": view.status,
        "LastModified": view.last_modified,
    }
    if view.status_reason:
        body["StatusReason"] = view.status_reason
    if services is not None:
        body["FunctionArn"] = services.functions.arns.function(view.name, view.qualifier)
    return body


async def put_provisioned(request: Request) -> Response:
    _services, service, name, qualifier = _target(request, qualified=True)
    body = parse_json_object(await request.body())
    requested = validation.int_in_range(
        body.get("ProvisionedConcurrentExecutions"), "ProvisionedConcurrentExecutions", 1, 100_000
    )
    return json_response(_render(await service.put(name, qualifier, requested)), 202)


async def get_or_list_provisioned(request: Request) -> Response:
    if request.query_params.get("List") == "ALL":
        services, service, name, _ = _target(request, qualified=False)
        views = await service.list(name)
        return json_response(
            {"ProvisionedConcurrencyConfigs": [_render(v, services) for v in views]}
        )
    _services, service, name, qualifier = _target(request, qualified=True)
    return json_response(_render(await service.get(name, qualifier)))


async def delete_provisioned(request: Request) -> Response:
    _services, service, name, qualifier = _target(request, qualified=True)
    await service.delete(name, qualifier)
    return Response(status_code=204)


PATH = "/2019-09-30/functions/{name}/provisioned-concurrency"
routes = [
    Route(PATH, put_provisioned, methods=["PUT"], name="PutProvisionedConcurrencyConfig"),
    Route(PATH, get_or_list_provisioned, methods=["GET"], name="GetProvisionedConcurrencyConfig"),
    Route(PATH, delete_provisioned, methods=["DELETE"], name="DeleteProvisionedConcurrencyConfig"),
]
