"""Route table: reserved concurrency (Put/Get/DeleteFunctionConcurrency)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.control import validation
from nimbus.control.concurrency import ConcurrencyService
from nimbus.frontend.body import parse_json_object
from nimbus.frontend.context import Services
from nimbus.frontend.functions_api import json_response
from nimbus.model.arn import parse_function_ref


def _service(request: Request) -> tuple[ConcurrencyService, str]:
    services = Services.of(request)
    assert services.concurrency is not None
    ref = parse_function_ref(request.path_params["name"], allow_qualifier=False)
    services.functions.arns.check_owner(ref)
    return services.concurrency, ref.name


async def put_concurrency(request: Request) -> Response:
    service, name = _service(request)
    body = parse_json_object(await request.body())
    reserved = validation.int_in_range(
        body.get("ReservedConcurrentExecutions"), "ReservedConcurrentExecutions", 0, 1_000_000
    )
    return json_response({"ReservedConcurrentExecutions": await service.put(name, reserved)})


async def get_concurrency(request: Request) -> Response:
    service, name = _service(request)
    reserved = await service.get(name)
    return json_response({} if reserved is None else {"ReservedConcurrentExecutions": reserved})


async def delete_concurrency(request: Request) -> Response:
    service, name = _service(request)
    await service.delete(name)
    return Response(status_code=204)


routes = [
    Route("/2017-10-31/functions/{name}/concurrency", put_concurrency, methods=["PUT"]),
    Route("/2019-09-30/functions/{name}/concurrency", get_concurrency, methods=["GET"]),
    Route("/2017-10-31/functions/{name}/concurrency", delete_concurrency, methods=["DELETE"]),
]
