"""Serving an HTTP API with a fake invoker and the real authorizer over in-memory policies: the
permission API Gateway needs (and the SourceArn it presents), and what each failure of the
integration is answered (AWS: 500 Internal Server Error, 503 Service Unavailable past the
integration timeout, 404 Not Found without a route)."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from nimbus.auth.authorizer import Authorizer
from nimbus.control.http_apis import ServedApi
from nimbus.errors import ResourceNotFoundError, TooManyRequestsError
from nimbus.frontend.http_api_server import HttpApiServer, source_arn
from nimbus.model.arn import Arns
from nimbus.model.http_api import ApiCors, ApiDefinition, HttpApi, Integration, Route, Stage
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.testing.clock import ManualClock
from nimbus.testing.invoker import FakeInvoker, Script, fail
from nimbus.testing.policy_sources import FakeIdentityPolicies, FakeResourcePolicies
from nimbus.web.api_routes import parse_route_key
from nimbus.web.endpoints import Endpoint
from nimbus.web.http_request import HttpRequest, HttpResponse

ARNS = Arns(region="us-east-1", account="111122223333")
FN = ARNS.function("shop")
API_ID = "a1b2c3d4e5"


def _served(*, timeout_ms: int = 30_000, cors: ApiCors | None = None) -> ServedApi:
    routes = (
        Route(route_id="r1", route_key="GET /items/{id}", target="integrations/i1"),
        Route(route_id="r2", route_key="GET /gone", target="integrations/deleted"),
        Route(route_id="r3", route_key="GET /untargeted"),
    )
    definition = ApiDefinition(
        api=HttpApi(api_id=API_ID, name="shop", created=0.0, cors=cors),
        integrations={
            "i1": Integration(
                integration_id="i1",
                integration_type="AWS_PROXY",
                integration_uri=FN + ":live",
                payload_format_version="2.0",
                timeout_ms=timeout_ms,
            )
        },
        routes=routes,
        stages={"prod": Stage(stage_name="prod", created=0.0, last_updated=0.0)},
    )
    return ServedApi(
        definition=definition,
        templates=tuple(parse_route_key(r.route_key) for r in routes),
        routes_by_key={r.route_key: r for r in routes},
    )


class Apis:
    def __init__(self, served: ServedApi) -> None:
        self.served_api = served

    async def served(self, api_id: str) -> ServedApi | None:
        return self.served_api if api_id == API_ID else None


def _policy(source: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": FN + ":live",
                "Condition": {"ArnLike": {"AWS:SourceArn": source}},
            }
        ],
    }


def _server(
    invoker: Any, *, served: ServedApi | None = None, source: str = "*"
) -> tuple[HttpApiServer, FakeResourcePolicies]:
    clock = ManualClock()
    policies = FakeResourcePolicies(
        {FN + ":live": _policy(f"arn:aws:execute-api:us-east-1:111122223333:{API_ID}/{source}")}
    )
    authorizer = Authorizer(FakeIdentityPolicies(), policies, clock=clock)
    server = HttpApiServer(
        apis=Apis(served or _served()),
        invoker=invoker,
        authorizer=authorizer,
        arns=ARNS,
        clock=clock,
    )
    return server, policies


async def _get(server: HttpApiServer, path: str, **kw: Any) -> HttpResponse:
    request = HttpRequest(
        method=kw.pop("method", "GET"),
        raw_path=path,
        raw_query="",
        headers=kw.pop("headers", ()),
        body=b"",
        source_ip="10.0.0.1",
        domain_name=f"{API_ID}.execute-api.us-east-1.localhost",
    )
    endpoint = Endpoint("api", kw.pop("api_id", API_ID), "us-east-1", path, request.domain_name)
    reply = await server.serve(endpoint, request)
    assert isinstance(reply, HttpResponse)
    return reply


def _ok(call: InvokeCall) -> InvokeOutcome:
    return InvokeOutcome(
        request_id=call.request_id or "", executed_version="3", payload=b'{"statusCode": 202}'
    )


def _message(reply: HttpResponse) -> tuple[int, object]:
    return reply.status, orjson.loads(reply.body)


def test_the_source_arn_names_api_stage_method_and_route_path() -> None:
    assert source_arn(ARNS, "abc", "prod", "GET", "/items/{id}") == (
        "arn:aws:execute-api:us-east-1:111122223333:abc/prod/GET/items/{id}"
    )
    assert source_arn(ARNS, "abc", "$default", "POST", "$default") == (
        "arn:aws:execute-api:us-east-1:111122223333:abc/$default/$default"
    )


async def test_an_allowed_invoke_runs_the_integrations_function_and_qualifier() -> None:
    invoker = FakeInvoker(_ok)
    server, _ = _server(invoker, source="prod/GET/items/*")
    reply = await _get(server, "/prod/items/7")
    assert reply.status == 202
    [call] = invoker.calls
    assert (call.function_name, call.qualifier) == ("shop", "live")
    assert call.request_id
    event = orjson.loads(call.payload)
    assert (event["routeKey"], event["pathParameters"]) == ("GET /items/{id}", {"id": "7"})
    assert dict(reply.headers)["apigw-requestid"] == event["requestContext"]["requestId"]


async def test_without_the_permission_the_function_is_never_invoked() -> None:
    invoker = FakeInvoker(_ok)
    server, _ = _server(invoker, source="otherstage/*")
    assert _message(await _get(server, "/prod/items/7")) == (
        500,
        {"message": "Internal Server Error"},
    )
    assert invoker.calls == []


async def test_function_errors_throttles_and_lost_functions_are_500() -> None:
    script: Script
    for script in (
        fail,
        lambda call: TooManyRequestsError("Rate Exceeded."),
        lambda call: ResourceNotFoundError("Function not found"),
    ):
        server, _ = _server(FakeInvoker(script))
        assert _message(await _get(server, "/prod/items/7")) == (
            500,
            {"message": "Internal Server Error"},
        )


async def test_past_the_integration_timeout_503_and_the_invocation_runs_on() -> None:
    release = asyncio.Event()

    class Slow:
        finished = False

        async def invoke(self, call: InvokeCall) -> InvokeOutcome:
            await release.wait()
            Slow.finished = True
            return _ok(call)

    server, _ = _server(Slow(), served=_served(timeout_ms=50))
    assert _message(await _get(server, "/prod/items/7")) == (
        503,
        {"message": "Service Unavailable"},
    )
    release.set()
    for _ in range(10):
        await asyncio.sleep(0)
    assert Slow.finished


async def test_not_found_and_broken_routes() -> None:
    invoker = FakeInvoker(_ok)
    server, _ = _server(invoker)
    not_found = (404, {"message": "Not Found"})
    assert _message(await _get(server, "/items/7")) == not_found  # no $default stage
    assert _message(await _get(server, "/prod/nothing")) == not_found
    assert _message(await _get(server, "/prod/untargeted")) == not_found
    assert _message(await _get(server, "/prod/items/7", api_id="otherapi00")) == not_found
    assert _message(await _get(server, "/prod/gone")) == (500, {"message": "Internal Server Error"})
    assert invoker.calls == []


async def test_a_cors_preflight_never_reaches_the_function() -> None:
    invoker = FakeInvoker(_ok)
    cors = ApiCors(allow_origins=("https://app.example",), allow_methods=("GET",))
    server, _ = _server(invoker, served=_served(cors=cors))
    reply = await _get(
        server,
        "/prod/items/7",
        method="OPTIONS",
        headers=(("origin", "https://app.example"), ("access-control-request-method", "GET")),
    )
    assert reply.status == 204
    assert dict(reply.headers)["access-control-allow-origin"] == "https://app.example"
    assert invoker.calls == []
