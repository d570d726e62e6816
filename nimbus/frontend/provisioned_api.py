"""Route table: provisioned concurrency configs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control import validation
from nimbus.dataplane.provisioned import ProvisionedService, ProvisionedView
from nimbus.errors import InvalidParameterValueError
from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.arn import QUALIFIER_RE, Arns, merge_qualifier

PATH = "/2019-09-30/functions/{name}/provisioned-concurrency"


def _render(view: ProvisionedView, arns: Arns | None = None) -> dict[str, Any]:
    """A config; ``arns`` adds its FunctionArn, which only ListProvisionedConcurrencyConfigs
    reports."""
    body: dict[str, Any] = {
        "RequestedProvisionedConcurrentExecutions": view.requested,
        "AvailableProvisionedConcurrentExecutions": view.available,
        "AllocatedProvisionedConcurrentExecutions": view.allocated,
        "Status": view.status,
        "LastModified": view.last_modified,
    }
    if view.status_reason:
        body["StatusReason"] = view.status_reason
    if arns is not None:
        body["FunctionArn"] = arns.function(view.name, view.qualifier)
    return body


class ProvisionedApi:
    def __init__(self, *, provisioned: ProvisionedService, arns: Arns) -> None:
        self._provisioned = provisioned
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.put, methods=["PUT"], name="PutProvisionedConcurrencyConfig"),
            Route(PATH, self.get_or_list, methods=["GET"], name="GetProvisionedConcurrencyConfig"),
            Route(PATH, self.delete, methods=["DELETE"], name="DeleteProvisionedConcurrencyConfig"),
        ]

    def _target(self, request: Request, *, qualified: bool) -> tuple[str, str]:
        ref = params.function_ref(self._arns, request)
        qualifier = merge_qualifier(ref, request.query_params.get("Qualifier")) or ""
        if qualified and not QUALIFIER_RE.match(qualifier):
            raise InvalidParameterValueError("Qualifier is required: a version number or an alias.")
        return ref.name, qualifier

    async def put(self, request: Request) -> Response:
        name, qualifier = self._target(request, qualified=True)
        body = await params.json_body(request)
        requested = validation.int_in_range(
            body.get("ProvisionedConcurrentExecutions"),
            "ProvisionedConcurrentExecutions",
            1,
            100_000,
        )
        return json_response(_render(await self._provisioned.put(name, qualifier, requested)), 202)

    async def get_or_list(self, request: Request) -> Response:
        if request.query_params.get("List") == "ALL":
            name, _ = self._target(request, qualified=False)
            max_items = params.max_items(request, default=50, high=50)
            start = params.offset_marker(request)
            views = await self._provisioned.list(name)
            page = views[start : start + max_items]
            body: dict[str, Any] = {
                "ProvisionedConcurrencyConfigs": [_render(v, self._arns) for v in page]
            }
            if start + max_items < len(views):
                body["NextMarker"] = str(start + max_items)
            return json_response(body)
        name, qualifier = self._target(request, qualified=True)
        return json_response(_render(await self._provisioned.get(name, qualifier)))

    async def delete(self, request: Request) -> Response:
        name, qualifier = self._target(request, qualified=True)
        await self._provisioned.delete(name, qualifier)
        return Response(status_code=204)
