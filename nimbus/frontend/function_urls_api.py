"""Route table: Create/Get/Update/Delete/ListFunctionUrlConfigs (botocore's lambda
2015-03-31 model, ``/2021-10-31/functions/{FunctionName}/url[s]``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control.function_urls import FunctionUrlService
from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns, merge_qualifier

PATH = "/2021-10-31/functions/{name}/url"
LIST_PATH = "/2021-10-31/functions/{name}/urls"


class FunctionUrlsApi:
    def __init__(self, *, urls: FunctionUrlService, arns: Arns) -> None:
        self._urls = urls
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.create, methods=["POST"], name="CreateFunctionUrlConfig"),
            Route(PATH, self.get, methods=["GET"], name="GetFunctionUrlConfig"),
            Route(PATH, self.update, methods=["PUT"], name="UpdateFunctionUrlConfig"),
            Route(PATH, self.delete, methods=["DELETE"], name="DeleteFunctionUrlConfig"),
            Route(LIST_PATH, self.list, methods=["GET"], name="ListFunctionUrlConfigs"),
        ]

    def _target(self, request: Request) -> tuple[str, str | None]:
        ref = params.function_ref(self._arns, request)
        return ref.name, merge_qualifier(ref, request.query_params.get("Qualifier"))

    async def create(self, request: Request) -> Response:
        name, qualifier = self._target(request)
        body = await params.json_body(request)
        return json_response(await self._urls.create(name, qualifier, body), status=201)

    async def get(self, request: Request) -> Response:
        name, qualifier = self._target(request)
        return json_response(await self._urls.get(name, qualifier))

    async def update(self, request: Request) -> Response:
        name, qualifier = self._target(request)
        body = await params.json_body(request)
        return json_response(await self._urls.update(name, qualifier, body))

    async def delete(self, request: Request) -> Response:
        name, qualifier = self._target(request)
        await self._urls.delete(name, qualifier)
        return Response(status_code=204)

    async def list(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        page, next_marker = await self._urls.list_urls(
            name,
            marker=params.marker(request),
            max_items=params.max_items(request, default=50, high=50),
        )
        body: dict[str, object] = {"FunctionUrlConfigs": page}
        if next_marker is not None:
            body["NextMarker"] = next_marker
        return json_response(body)
