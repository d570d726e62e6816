"""Serving HTTP APIs: a request to ``<api-id>.execute-api...`` (or ``/execute-api/<api-id>/``)
is matched to a stage and a route (``web.api_routes``), becomes a payload 1.0 or 2.0 event
(``web.payload_v1`` / ``web.payload_v2``) for the route's Lambda integration, and the
function's answer the HTTP response — API Gateway's behaviour ("Working with AWS Lambda proxy
integrations for HTTP APIs", "Troubleshooting issues with HTTP API Lambda integrations"):

- An unknown API, a disabled execute-api endpoint, no stage or no route for the request:
  404 ``{"message":"Not Found"}``.
- With a ``CorsConfiguration`` the platform answers preflights itself (204, the function never
  sees them) and sets the CORS headers of every other answer from it.
- API Gateway may invoke the function only when its resource policy allows
  ``apigateway.amazonaws.com`` ``lambda:InvokeFunction``, decided with ``aws:SourceArn``
  ``arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD><route path>`` (or
  ``.../<stage>/$default``) and ``aws:SourceAccount``; otherwise, as on AWS, 500.
- A function error, a throttled or failed invoke, an answer that cannot be mapped: 500
  ``{"message":"Internal Server Error"}`` (AWS maps Lambda's 429 to 500 too). No answer within
  the integration's ``TimeoutInMillis`` (30 s by default): 503 ``{"message":"Service
  Unavailable"}`` — the invocation runs on to its own end, as it does on AWS.
- Every answer carries ``apigw-requestid``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import secrets
import uuid
from dataclasses import replace
from typing import Protocol

import orjson

from nimbus.auth.policy import Allow
from nimbus.auth.principal import service
from nimbus.clock import Clock
from nimbus.control.http_api_rules import function_of
from nimbus.control.http_apis import ServedApi
from nimbus.errors import NimbusError
from nimbus.frontend.auth_gate import Decide
from nimbus.frontend.http_endpoints import Reply
from nimbus.frontend.ports import Invocations
from nimbus.model.arn import Arns
from nimbus.model.http_api import ApiCors, Integration
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.web import cors
from nimbus.web.api_routes import match_route, stage_of
from nimbus.web.endpoints import Endpoint
from nimbus.web.http_request import HttpRequest, HttpResponse
from nimbus.web.payload_v1 import event_v1, response_v1
from nimbus.web.payload_v2 import BadFunctionResponse, EventContext, event_v2, response_v2

log = logging.getLogger(__name__)

API_GATEWAY = service("apigateway.amazonaws.com")


class ApiSource(Protocol):
    async def served(self, api_id: str) -> ServedApi | None:
        """The API ``api_id`` names, or None. (``control.http_apis.HttpApiService``.)"""


def message(status: int, text: str) -> HttpResponse:
    """API Gateway's own answers: ``{"message": ...}``."""
    return HttpResponse(
        status=status,
        headers=(("content-type", "application/json"),),
        body=orjson.dumps({"message": text}),
    )


NOT_FOUND = message(404, "Not Found")
INTERNAL_ERROR = message(500, "Internal Server Error")
UNAVAILABLE = message(503, "Service Unavailable")


def cors_rules(config: ApiCors | None) -> cors.CorsConfig | None:
    if config is None:
        return None
    return cors.CorsConfig(
        allow_origins=config.allow_origins,
        allow_methods=config.allow_methods,
        allow_headers=config.allow_headers,
        expose_headers=config.expose_headers,
        allow_credentials=bool(config.allow_credentials),
        max_age=config.max_age,
    )


def source_arn(arns: Arns, api_id: str, stage: str, method: str, route_path: str) -> str:
    """The ARN API Gateway invokes as: ``<api-id>/<stage>/<METHOD><route path>``, or
    ``<api-id>/<stage>/$default`` for the ``$default`` route."""
    route = route_path if route_path == "$default" else f"{method}{route_path}"
    return f"arn:aws:execute-api:{arns.region}:{arns.account}:{api_id}/{stage}/{route}"


def new_request_id() -> str:
    """An API Gateway request id ("BitA2hMuNjMEPFQ=")."""
    return base64.b64encode(secrets.token_bytes(10)).decode()


class HttpApiServer:
    """The ``EndpointServer`` of kind ``api``."""

    def __init__(
        self,
        *,
        apis: ApiSource,
        invoker: Invocations,
        authorizer: Decide,
        arns: Arns,
        clock: Clock,
    ) -> None:
        self._apis = apis
        self._invoker = invoker
        self._authorizer = authorizer
        self._arns = arns
        self._clock = clock
        # Every invocation in flight, referenced until it ends (API Gateway may have stopped
        # waiting for it: the timeout, or the client gone).
        self._running: set[asyncio.Task[InvokeOutcome]] = set()

    async def admits(self, endpoint: Endpoint, head: HttpRequest) -> Reply | None:
        served = await self._apis.served(endpoint.id)
        if served is None or served.definition.api.disable_execute_api_endpoint:
            return NOT_FOUND
        return None

    async def serve(self, endpoint: Endpoint, request: HttpRequest) -> Reply:
        request_id = new_request_id()
        response = await self._answer(endpoint.id, request, request_id)
        return replace(response, headers=(*response.headers, ("apigw-requestid", request_id)))

    async def _answer(self, api_id: str, request: HttpRequest, request_id: str) -> HttpResponse:
        served = await self._apis.served(api_id)
        if served is None or served.definition.api.disable_execute_api_endpoint:
            return NOT_FOUND
        rules = cors_rules(served.definition.api.cors)
        if rules is not None and cors.is_preflight(request):
            return replace(cors.preflight(rules, request), status=204)
        response = await self._route(served, request, request_id)
        return response if rules is None else cors.with_cors(rules, request, response)

    async def _route(
        self, served: ServedApi, request: HttpRequest, request_id: str
    ) -> HttpResponse:
        definition = served.definition
        found = stage_of(request.raw_path, definition.stages)
        if found is None:
            return NOT_FOUND
        stage_name, below = found
        matched = match_route(served.templates, request.method, below)
        if matched is None:
            return NOT_FOUND
        route = served.routes_by_key[matched.route.key]
        integration_id = route.integration_id
        if integration_id is None:
            return NOT_FOUND  # a route without a target has nothing to send the request to
        integration = definition.integrations.get(integration_id)
        if integration is None:
            log.info(
                "HTTP API %s: route %s targets a deleted integration",
                definition.api.api_id,
                route.route_key,
            )
            return INTERNAL_ERROR
        context = EventContext(
            api_id=definition.api.api_id,
            account_id=self._arns.account,
            request_id=request_id,
            now_ms=int(self._clock.now() * 1000),
            route_key=route.route_key,
            stage=stage_name,
            path_parameters=matched.path_parameters,
            stage_variables=definition.stages[stage_name].stage_variables,
        )
        arn = source_arn(
            self._arns, definition.api.api_id, stage_name, request.method, matched.route.path
        )
        return await self._integrate(integration, request, context, arn)

    async def _integrate(
        self, integration: Integration, request: HttpRequest, context: EventContext, arn: str
    ) -> HttpResponse:
        version = integration.payload_format_version
        try:
            ref = function_of(integration.integration_uri)
        except NimbusError:
            return INTERNAL_ERROR
        if ref.region != self._arns.region or ref.account != self._arns.account:
            return INTERNAL_ERROR  # a function this endpoint does not serve
        function_arn = self._arns.function(ref.name, ref.qualifier)
        decision = await self._authorizer.decide(
            API_GATEWAY,
            "lambda:InvokeFunction",
            function_arn,
            {"aws:SourceArn": arn, "aws:SourceAccount": self._arns.account},
        )
        if not isinstance(decision, Allow):
            # AWS: "Invalid permissions on Lambda function", answered 500.
            log.info("HTTP API %s may not invoke %s (%s)", context.api_id, function_arn, arn)
            return INTERNAL_ERROR
        event = event_v1(request, context) if version == "1.0" else event_v2(request, context)
        call = InvokeCall(
            function_name=ref.name,
            qualifier=ref.qualifier,
            payload=orjson.dumps(event),
            request_id=str(uuid.uuid4()),
            # No client's trace header travels on: HTTP API routes are unauthenticated, and a
            # forged Lineage could trip the recursion guard (events/lineage.py) at will.
            trace_header=None,
        )
        # The invocation is a task of its own: when API Gateway stops waiting (the timeout, or
        # the client gone) the function still runs to its end, as on AWS.
        task = asyncio.ensure_future(self._invoker.invoke(call))
        self._running.add(task)
        task.add_done_callback(self._finished)
        done, _ = await asyncio.wait({task}, timeout=integration.timeout_ms / 1000)
        if not done:
            return UNAVAILABLE
        try:
            outcome = task.result()
        except NimbusError as exc:
            log.info("HTTP API %s: invoking %s failed: %s", context.api_id, ref.name, exc.message)
            return INTERNAL_ERROR
        except Exception:
            log.exception("HTTP API %s: invoking %s failed", context.api_id, ref.name)
            return INTERNAL_ERROR
        if outcome.function_error is not None:
            return INTERNAL_ERROR
        try:
            return (
                response_v1(outcome.payload) if version == "1.0" else response_v2(outcome.payload)
            )
        except BadFunctionResponse as exc:
            log.info("HTTP API %s: %s cannot be mapped (%s)", context.api_id, ref.name, exc)
            return INTERNAL_ERROR

    def _finished(self, task: asyncio.Task[InvokeOutcome]) -> None:
        self._running.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: one nobody waited for is no "never retrieved" warning
