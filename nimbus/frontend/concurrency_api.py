"""Route table: reserved concurrency (Put/Get/DeleteFunctionConcurrency)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control import validation
from nimbus.control.concurrency import ConcurrencyService
from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns


class ConcurrencyApi:
    def __init__(self, *, concurrency: ConcurrencyService, arns: Arns) -> None:
        self._concurrency = concurrency
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/2017-10-31/functions/{name}/concurrency", self.put, methods=["PUT"]),
            Route("/2019-09-30/functions/{name}/concurrency", self.get, methods=["GET"]),
            Route("/2017-10-31/functions/{name}/concurrency", self.delete, methods=["DELETE"]),
        ]

    async def put(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        body = await params.json_body(request)
        reserved = validation.int_in_range(
            body.get("ReservedConcurrentExecutions"), "ReservedConcurrentExecutions", 0, 1_000_000
        )
        return json_response(
            {"ReservedConcurrentExecutions": await self._concurrency.put(name, reserved)}
        )

    async def get(self, request: Request) -> Response:
        reserved = await self._concurrency.get(params.function_name(self._arns, request))
        return json_response({} if reserved is None else {"ReservedConcurrentExecutions": reserved})

    async def delete(self, request: Request) -> Response:
        await self._concurrency.delete(params.function_name(self._arns, request))
        return Response(status_code=204)
