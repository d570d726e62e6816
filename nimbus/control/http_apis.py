"""HTTP APIs (API Gateway's apigatewayv2, ProtocolType HTTP): APIs, integrations, routes and
stages — and the cached whole of one API that requests to it are served from.

AWS's behaviour kept here:

- Quick create (``CreateApi`` with ``Target``, a Lambda ARN) makes the ``$default`` route (or
  ``RouteKey``), an ``AWS_PROXY`` integration with payload format 2.0 and a ``$default`` stage
  with auto-deploy, all ``ApiGatewayManaged``.
- Route keys are unique in an API (ConflictException); a route's ``Target`` must name one of
  the API's integrations; stage names are unique (ConflictException "Stage already exists").
- Unknown ids answer NotFoundException with AWS's words ("Invalid API identifier specified
  <account>:<id>") and the resource type.

Nimbus has no deployments: every stage serves the API's current routes and integrations, as
an ``AutoDeploy`` stage does on AWS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from nimbus.clock import Clock
from nimbus.control import http_api_rules as rules
from nimbus.control.ttl_cache import TtlCache
from nimbus.errors import ApiNotFoundError, BadRequestError, ConflictError
from nimbus.model.arn import Arns
from nimbus.model.http_api import (
    DEFAULT_ROUTE,
    DEFAULT_STAGE,
    TARGET_PREFIX,
    ApiDefinition,
    HttpApi,
    Integration,
    Route,
    Stage,
)
from nimbus.store.http_apis import HttpApiRepository
from nimbus.web.api_routes import RouteTemplate, parse_route_key

API_ID_LENGTH = 10
PART_ID_LENGTH = 7
CACHE_TTL_S = 1.0
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class ServedApi:
    """One API as its requests are served: the definition, the routes' parsed templates."""

    definition: ApiDefinition
    templates: tuple[RouteTemplate, ...]
    routes_by_key: Mapping[str, Route]


def _page(items: list[T], limit: int, key: str) -> str | None:
    """The NextToken after a page of ``limit`` asked one more than ``limit``: the last id
    shown, or None when there is no more."""
    if len(items) <= limit:
        return None
    del items[limit:]
    return str(getattr(items[-1], key))


class HttpApiService:
    def __init__(self, *, repo: HttpApiRepository, arns: Arns, clock: Clock) -> None:
        self._repo = repo
        self._arns = arns
        self._clock = clock
        self._served: TtlCache[str, ServedApi | None] = TtlCache(ttl_s=CACHE_TTL_S)
        self._generation = 0  # bumped by every write: a read it raced is not cached
        # A route key's uniqueness is checked, then written: one route write at a time.
        self._route_writes = asyncio.Lock()

    # --- serving -----------------------------------------------------------------------------

    async def served(self, api_id: str) -> ServedApi | None:
        """The API a request names, or None. Cached: until the API changes on this node, and
        for at most ``CACHE_TTL_S`` (what another node of a cluster changed)."""
        now = self._clock.monotonic()
        cached = self._served.get(api_id, now=now)
        if cached is not None:
            return cached.value
        generation = self._generation
        definition = await self._repo.definition(api_id)
        served = None
        if definition is not None:
            routes = {route.route_key: route for route in definition.routes}
            served = ServedApi(
                definition=definition,
                templates=tuple(parse_route_key(key) for key in routes),
                routes_by_key=routes,
            )
        if generation == self._generation:  # no write raced the read
            self._served.put(api_id, served, now=now)
        return served

    def _changed(self, api_id: str) -> None:
        self._generation += 1
        self._served.pop(api_id)

    # --- APIs --------------------------------------------------------------------------------

    def _not_found(self, kind: str, key: str) -> ApiNotFoundError:
        words = {"Api": "API", "Integration": "Integration", "Route": "Route", "Stage": "stage"}
        return ApiNotFoundError(
            f"Invalid {words[kind]} identifier specified {self._arns.account}:{key}",
            resourceType=kind,
        )

    async def create_api(
        self, fields: Mapping[str, Any], *, target: str | None, route_key: str | None
    ) -> HttpApi:
        now = self._clock.now()
        api = HttpApi(api_id=rules.new_id(API_ID_LENGTH), created=now, **fields)
        initial: tuple[Integration | Route | Stage, ...] = ()
        if target is not None:
            integration = Integration(
                integration_id=rules.new_id(PART_ID_LENGTH),
                integration_type="AWS_PROXY",
                integration_uri=target,
                payload_format_version="2.0",
                api_gateway_managed=True,
            )
            initial = (
                integration,
                Route(
                    route_id=rules.new_id(PART_ID_LENGTH),
                    route_key=route_key or DEFAULT_ROUTE,
                    target=TARGET_PREFIX + integration.integration_id,
                    api_gateway_managed=True,
                ),
                Stage(
                    stage_name=DEFAULT_STAGE,
                    created=now,
                    last_updated=now,
                    auto_deploy=True,
                    api_gateway_managed=True,
                ),
            )
        elif route_key is not None:
            raise BadRequestError(
                "RouteKey is part of quick create: give Target (a Lambda function ARN) too, or "
                "create the route with CreateRoute."
            )
        await self._repo.insert_api(api, initial)
        self._changed(api.api_id)
        return api

    async def get_api(self, api_id: str) -> HttpApi:
        api = await self._repo.get_api(api_id)
        if api is None:
            raise self._not_found("Api", api_id)
        return api

    async def list_apis(self, *, after: str | None, limit: int) -> tuple[list[HttpApi], str | None]:
        found = await self._repo.list_apis(after=after, limit=limit + 1)
        return found, _page(found, limit, "api_id")

    async def update_api(self, api_id: str, changes: Mapping[str, Any]) -> HttpApi:
        api = replace(await self.get_api(api_id), **changes)
        if not await self._repo.update_api(api):
            raise self._not_found("Api", api_id)
        self._changed(api_id)
        return api

    async def delete_api(self, api_id: str) -> None:
        if not await self._repo.delete_api(api_id):
            raise self._not_found("Api", api_id)
        self._changed(api_id)

    # --- integrations ----------------------------------------------------------------------

    async def create_integration(self, api_id: str, fields: Mapping[str, Any]) -> Integration:
        await self.get_api(api_id)
        if "integration_type" not in fields:
            raise BadRequestError("IntegrationType is required: AWS_PROXY.")
        if "integration_uri" not in fields:
            raise BadRequestError("IntegrationUri is required for an AWS_PROXY integration.")
        if "payload_format_version" not in fields:
            rules.payload_format_version(None)
        integration = Integration(integration_id=rules.new_id(PART_ID_LENGTH), **fields)
        await self._repo.insert_part(api_id, integration)
        self._changed(api_id)
        return integration

    async def get_integration(self, api_id: str, integration_id: str) -> Integration:
        await self.get_api(api_id)
        found = await self._repo.get_part(api_id, Integration, integration_id)
        if found is None:
            raise self._not_found("Integration", integration_id)
        return found

    async def update_integration(
        self, api_id: str, integration_id: str, changes: Mapping[str, Any]
    ) -> Integration:
        integration = replace(await self.get_integration(api_id, integration_id), **changes)
        await self._repo.update_part(api_id, integration)
        self._changed(api_id)
        return integration

    async def delete_integration(self, api_id: str, integration_id: str) -> None:
        await self.get_api(api_id)
        if not await self._repo.delete_part(api_id, "integration", integration_id):
            raise self._not_found("Integration", integration_id)
        self._changed(api_id)

    async def list_integrations(
        self, api_id: str, *, after: str | None, limit: int
    ) -> tuple[list[Integration], str | None]:
        await self.get_api(api_id)
        found = await self._repo.list_parts(api_id, Integration, after=after, limit=limit + 1)
        return found, _page(found, limit, "integration_id")

    # --- routes ------------------------------------------------------------------------------

    async def _check_route(self, api_id: str, route: Route) -> None:
        """The route key is the API's only one of its kind; the target exists."""
        definition = await self._repo.definition(api_id)
        if definition is None:
            raise self._not_found("Api", api_id)
        for other in definition.routes:
            if other.route_key == route.route_key and other.route_id != route.route_id:
                raise ConflictError(
                    f"Route key '{route.route_key}' is already used by route {other.route_id} "
                    "of this API: update or delete that route instead."
                )
        integration = route.integration_id
        if integration is not None and integration not in definition.integrations:
            raise BadRequestError(
                f"Target '{route.target}' names no integration of API {api_id}: create the "
                "integration first (CreateIntegration) and use its IntegrationId."
            )

    async def create_route(self, api_id: str, fields: Mapping[str, Any]) -> Route:
        if "route_key" not in fields:
            rules.route_key(None)
        route = Route(route_id=rules.new_id(PART_ID_LENGTH), **fields)
        async with self._route_writes:
            await self._check_route(api_id, route)
            await self._repo.insert_part(api_id, route)
        self._changed(api_id)
        return route

    async def get_route(self, api_id: str, route_id: str) -> Route:
        await self.get_api(api_id)
        found = await self._repo.get_part(api_id, Route, route_id)
        if found is None:
            raise self._not_found("Route", route_id)
        return found

    async def update_route(self, api_id: str, route_id: str, changes: Mapping[str, Any]) -> Route:
        route = replace(await self.get_route(api_id, route_id), **changes)
        async with self._route_writes:
            await self._check_route(api_id, route)
            await self._repo.update_part(api_id, route)
        self._changed(api_id)
        return route

    async def delete_route(self, api_id: str, route_id: str) -> None:
        await self.get_api(api_id)
        if not await self._repo.delete_part(api_id, "route", route_id):
            raise self._not_found("Route", route_id)
        self._changed(api_id)

    async def list_routes(
        self, api_id: str, *, after: str | None, limit: int
    ) -> tuple[list[Route], str | None]:
        await self.get_api(api_id)
        found = await self._repo.list_parts(api_id, Route, after=after, limit=limit + 1)
        return found, _page(found, limit, "route_id")

    # --- stages ------------------------------------------------------------------------------

    async def create_stage(self, api_id: str, fields: Mapping[str, Any]) -> Stage:
        await self.get_api(api_id)
        if "stage_name" not in fields:
            rules.stage_name(None)
        now = self._clock.now()
        stage = Stage(created=now, last_updated=now, **fields)
        if not await self._repo.insert_part(api_id, stage):
            raise ConflictError(
                f"Stage already exists: API {api_id} has a stage named '{stage.stage_name}'."
            )
        self._changed(api_id)
        return stage

    async def get_stage(self, api_id: str, stage_name: str) -> Stage:
        await self.get_api(api_id)
        found = await self._repo.get_part(api_id, Stage, stage_name)
        if found is None:
            raise self._not_found("Stage", stage_name)
        return found

    async def update_stage(self, api_id: str, stage_name: str, changes: Mapping[str, Any]) -> Stage:
        stage = replace(
            await self.get_stage(api_id, stage_name), last_updated=self._clock.now(), **changes
        )
        await self._repo.update_part(api_id, stage)
        self._changed(api_id)
        return stage

    async def delete_stage(self, api_id: str, stage_name: str) -> None:
        await self.get_api(api_id)
        if not await self._repo.delete_part(api_id, "stage", stage_name):
            raise self._not_found("Stage", stage_name)
        self._changed(api_id)

    async def list_stages(
        self, api_id: str, *, after: str | None, limit: int
    ) -> tuple[list[Stage], str | None]:
        await self.get_api(api_id)
        found = await self._repo.list_parts(api_id, Stage, after=after, limit=limit + 1)
        return found, _page(found, limit, "stage_name")
