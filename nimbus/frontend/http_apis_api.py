"""Route table: API Gateway HTTP APIs (botocore's apigatewayv2 model, paths ``/v2/apis...``):
Create/Get/Update/Delete Api, GetApis and DeleteCorsConfiguration; Create/Get/Update/Delete
Integration and GetIntegrations; Create/Get/Update/Delete Route and GetRoutes;
Create/Get/Update/Delete Stage and GetStages. Lists page with ``maxResults``/``nextToken``."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control import http_api_rules as rules
from nimbus.control.http_apis import HttpApiService
from nimbus.errors import BadRequestError
from nimbus.frontend import http_api_wire as wire
from nimbus.frontend.wire import json_response
from nimbus.web.endpoints import EndpointNames

APIS = "/v2/apis"
API = APIS + "/{api}"


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise BadRequestError("The request body must be a JSON object.")
    return value


def _paging(request: Request) -> tuple[str | None, int]:
    limit = rules.max_results(request.query_params.get("maxResults"))
    return request.query_params.get("nextToken") or None, limit


class HttpApisApi:
    def __init__(self, *, apis: HttpApiService, names: EndpointNames) -> None:
        self._apis = apis
        self._names = names

    def routes(self) -> list[BaseRoute]:
        parts = (
            ("integrations", "{integration}", "Integration"),
            ("routes", "{route}", "Route"),
            ("stages", "{stage}", "Stage"),
        )
        table: list[BaseRoute] = [
            Route(APIS, self.create_api, methods=["POST"], name="CreateApi"),
            Route(APIS, self.get_apis, methods=["GET"], name="GetApis"),
            Route(API, self.get_api, methods=["GET"], name="GetApi"),
            Route(API, self.update_api, methods=["PATCH"], name="UpdateApi"),
            Route(API, self.delete_api, methods=["DELETE"], name="DeleteApi"),
            Route(
                API + "/cors", self.delete_cors, methods=["DELETE"], name="DeleteCorsConfiguration"
            ),
        ]
        for plural, label, noun in parts:
            collection = f"{API}/{plural}"
            item = f"{collection}/{label}"
            table += [
                Route(collection, self._create, methods=["POST"], name=f"Create{noun}"),
                Route(collection, self._list, methods=["GET"], name=f"Get{noun}s"),
                Route(item, self._get, methods=["GET"], name=f"Get{noun}"),
                Route(item, self._update, methods=["PATCH"], name=f"Update{noun}"),
                Route(item, self._delete, methods=["DELETE"], name=f"Delete{noun}"),
            ]
        return table

    # --- APIs --------------------------------------------------------------------------------

    async def create_api(self, request: Request) -> Response:
        body = await _body(request)
        fields = wire.api_fields(body, create=True)
        target = body.get("target")
        route_key = body.get("routeKey")
        api = await self._apis.create_api(
            fields,
            target=None if target is None else rules.integration_uri(target),
            route_key=None if route_key is None else rules.route_key(route_key),
        )
        return json_response(wire.api_shape(api, self._names), 201)

    async def get_apis(self, request: Request) -> Response:
        after, limit = _paging(request)
        found, token = await self._apis.list_apis(after=after, limit=limit)
        return json_response(wire.page([wire.api_shape(a, self._names) for a in found], token))

    async def get_api(self, request: Request) -> Response:
        api = await self._apis.get_api(request.path_params["api"])
        return json_response(wire.api_shape(api, self._names))

    async def update_api(self, request: Request) -> Response:
        body = await _body(request)
        for member in ("target", "routeKey"):
            if body.get(member) is not None:
                raise BadRequestError(
                    f"{member[0].upper()}{member[1:]} is part of quick create (CreateApi); "
                    "change the route or integration itself (UpdateRoute, UpdateIntegration)."
                )
        api = await self._apis.update_api(
            request.path_params["api"], wire.api_fields(body, create=False)
        )
        return json_response(wire.api_shape(api, self._names))

    async def delete_api(self, request: Request) -> Response:
        await self._apis.delete_api(request.path_params["api"])
        return Response(status_code=204)

    async def delete_cors(self, request: Request) -> Response:
        await self._apis.update_api(request.path_params["api"], {"cors": None})
        return Response(status_code=204)

    # --- integrations, routes, stages (one handler per verb, dispatched on the path) --------

    @staticmethod
    def _collection(request: Request) -> str:
        """ "integrations", "routes" or "stages": the path's last segment."""
        return request.url.path.rstrip("/").rsplit("/", 1)[-1]

    async def _create(self, request: Request) -> Response:
        api_id = request.path_params["api"]
        body = await _body(request)
        collection = self._collection(request)
        if collection == "integrations":
            integration = await self._apis.create_integration(api_id, wire.integration_fields(body))
            return json_response(wire.integration_shape(integration), 201)
        if collection == "routes":
            route = await self._apis.create_route(api_id, wire.route_fields(body))
            return json_response(wire.route_shape(route), 201)
        stage = await self._apis.create_stage(api_id, wire.stage_fields(body, create=True))
        return json_response(wire.stage_shape(stage), 201)

    async def _list(self, request: Request) -> Response:
        api_id = request.path_params["api"]
        after, limit = _paging(request)
        collection = self._collection(request)
        items: list[dict[str, Any]]
        if collection == "integrations":
            integrations, token = await self._apis.list_integrations(
                api_id, after=after, limit=limit
            )
            items = [wire.integration_shape(i) for i in integrations]
        elif collection == "routes":
            routes, token = await self._apis.list_routes(api_id, after=after, limit=limit)
            items = [wire.route_shape(r) for r in routes]
        else:
            stages, token = await self._apis.list_stages(api_id, after=after, limit=limit)
            items = [wire.stage_shape(s) for s in stages]
        return json_response(wire.page(items, token))

    async def _get(self, request: Request) -> Response:
        api_id, params = request.path_params["api"], request.path_params
        if "integration" in params:
            integration = await self._apis.get_integration(api_id, params["integration"])
            return json_response(wire.integration_shape(integration))
        if "route" in params:
            return json_response(
                wire.route_shape(await self._apis.get_route(api_id, params["route"]))
            )
        return json_response(wire.stage_shape(await self._apis.get_stage(api_id, params["stage"])))

    async def _update(self, request: Request) -> Response:
        api_id, params = request.path_params["api"], request.path_params
        body = await _body(request)
        if "integration" in params:
            integration = await self._apis.update_integration(
                api_id, params["integration"], wire.integration_fields(body)
            )
            return json_response(wire.integration_shape(integration))
        if "route" in params:
            route = await self._apis.update_route(api_id, params["route"], wire.route_fields(body))
            return json_response(wire.route_shape(route))
        if body.get("stageName") not in (None, params["stage"]):
            raise BadRequestError("A stage cannot be renamed: create a new stage instead.")
        changes = wire.stage_fields(body, create=False)
        changes.pop("stage_name", None)
        stage = await self._apis.update_stage(api_id, params["stage"], changes)
        return json_response(wire.stage_shape(stage))

    async def _delete(self, request: Request) -> Response:
        api_id, params = request.path_params["api"], request.path_params
        if "integration" in params:
            await self._apis.delete_integration(api_id, params["integration"])
        elif "route" in params:
            await self._apis.delete_route(api_id, params["route"])
        else:
            await self._apis.delete_stage(api_id, params["stage"])
        return Response(status_code=204)
