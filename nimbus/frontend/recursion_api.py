"""Route table: GetFunctionRecursionConfig and PutFunctionRecursionConfig (a function's
recursive loop detection setting, botocore's lambda 2015-03-31 model)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.control.recursion import RecursionService
from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.arn import Arns

PATH = "/2024-08-31/functions/{name}/recursion-config"


class RecursionApi:
    def __init__(self, *, recursion: RecursionService, arns: Arns) -> None:
        self._recursion = recursion
        self._arns = arns

    def routes(self) -> list[BaseRoute]:
        return [
            Route(PATH, self.get_config, methods=["GET"], name="GetFunctionRecursionConfig"),
            Route(PATH, self.put_config, methods=["PUT"], name="PutFunctionRecursionConfig"),
        ]

    async def get_config(self, request: Request) -> Response:
        # UnqualifiedFunctionName: the setting belongs to the function, not a version.
        name = params.function_name(self._arns, request)
        return json_response({"RecursiveLoop": await self._recursion.get(name)})

    async def put_config(self, request: Request) -> Response:
        name = params.function_name(self._arns, request)
        body = await params.json_body(request)
        value = await self._recursion.put(name, body.get("RecursiveLoop"))
        return json_response({"RecursiveLoop": value})
