"""Serving function URLs: a request to ``<url-id>.lambda-url...`` becomes a payload 2.0
event (``web.payload_v2``), the function's answer the HTTP response — AWS's behaviour
("Invoking Lambda function URLs", "Control access to Lambda function URLs"):

- An unknown (or deleted) URL id: 403 ``{"Message":"Forbidden"}``.
- CORS preflights are answered from the URL's ``Cors`` without invoking (``web.cors``).
- ``AWS_IAM``: the request must be SigV4-signed for service ``lambda`` by a caller allowed
  ``lambda:InvokeFunctionUrl`` (with ``lambda:FunctionUrlAuthType`` = ``AWS_IAM``) and
  ``lambda:InvokeFunction`` (with ``lambda:InvokedViaFunctionUrl``) on the function;
  ``requestContext.authorizer.iam`` names the caller. Unsigned or badly signed: 403.
- ``NONE``: anyone, but only if the function's resource policy allows ``"*"`` both
  actions — AWS requires both statements for URLs since October 2025 (``AddPermission``
  with ``FunctionUrlAuthType=NONE``, and with ``InvokedViaFunctionUrl=true``); otherwise
  403. ``requestContext.accountId`` is ``anonymous``.
- The function's answer: a function error 502, its timeout 504, throttling 429, a request
  over 6 MB 413 (``http_endpoints``), an answer that cannot be a response 502.
- ``InvokeMode=RESPONSE_STREAM``: the body goes out as the function writes it
  (``function_url_stream``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Protocol

import orjson

from nimbus.auth.authenticator import Authenticated
from nimbus.auth.policy import Allow
from nimbus.auth.principal import Principal, anonymous
from nimbus.clock import Clock
from nimbus.control.function_url_rules import cors_config
from nimbus.control.function_urls import FunctionUrlService, UrlConfig
from nimbus.dataplane.streaming import error_code_of
from nimbus.errors import NimbusError
from nimbus.frontend.auth_gate import Authenticate, Decide, transport_keys
from nimbus.frontend.function_url_stream import failed, refused, stream_reply
from nimbus.frontend.http_endpoints import Reply
from nimbus.frontend.ports import Invocations, StreamInvocations
from nimbus.model.arn import Arns
from nimbus.model.invoke import InvokeCall
from nimbus.web import cors
from nimbus.web.endpoints import Endpoint
from nimbus.web.http_request import HttpRequest, HttpResponse, text_response
from nimbus.web.payload_v2 import BadFunctionResponse, EventContext, event_v2, response_v2

log = logging.getLogger(__name__)

Headers = tuple[tuple[str, str], ...]


class UrlInvocations(Invocations, StreamInvocations, Protocol):
    """Buffered and streamed invocations (``dataplane.invoker.Invoker``)."""


def forbidden() -> HttpResponse:
    return text_response(403, "Forbidden")


class FunctionUrlServer:
    """The ``EndpointServer`` of kind ``url``."""

    def __init__(
        self,
        *,
        urls: FunctionUrlService,
        invoker: UrlInvocations,
        authenticator: Authenticate,
        authorizer: Decide,
        arns: Arns,
        clock: Clock,
    ) -> None:
        self._urls = urls
        self._invoker = invoker
        self._authenticator = authenticator
        self._authorizer = authorizer
        self._arns = arns
        self._clock = clock

    async def admits(self, endpoint: Endpoint, head: HttpRequest) -> Reply | None:
        config = await self._urls.by_url_id(endpoint.id)
        if config is None:
            return forbidden()
        if config.auth_type == "AWS_IAM" and not _carries_signature(head):
            return forbidden()
        return None

    async def serve(self, endpoint: Endpoint, request: HttpRequest) -> Reply:
        config = await self._urls.by_url_id(endpoint.id)
        if config is None:
            return forbidden()
        cors_rules = cors_config(config.cors)
        if cors_rules is not None and cors.is_preflight(request):
            return cors.preflight(cors_rules, request)
        caller = await self._caller(config, request)
        if caller is None:
            return forbidden()
        call = self._call(config, request, caller)

        def finish(
            status: int, headers: tuple[tuple[str, str], ...]
        ) -> tuple[tuple[str, str], ...]:
            if cors_rules is not None:
                headers = cors.with_cors(
                    cors_rules, request, HttpResponse(status=status, headers=headers)
                ).headers
            return (*headers, ("x-amzn-requestid", call.request_id or ""))

        if config.invoke_mode == "RESPONSE_STREAM":
            return await stream_reply(self._invoker, call, finish)
        reply = await self._invoke(config, call)
        return HttpResponse(
            status=reply.status, headers=finish(reply.status, reply.headers), body=reply.body
        )

    async def _caller(self, config: UrlConfig, request: HttpRequest) -> Principal | None:
        """Who may call, or None (403): the signer for AWS_IAM, anyone for NONE — each only
        if both of AWS's permissions allow it."""
        if config.auth_type == "AWS_IAM":
            signed = await self._authenticate(request)
            if signed is None:
                return None
            principal = signed.principal
        else:
            principal = anonymous()
        arn = self._arns.function(config.function, config.qualifier or None)
        # The global keys the gate sets for every API request, so a policy's SourceIp or
        # SecureTransport condition means the same on a URL.
        common = transport_keys(request.source_ip, https=request.scheme == "https")
        checks = (
            ("lambda:InvokeFunctionUrl", {"lambda:FunctionUrlAuthType": config.auth_type}),
            ("lambda:InvokeFunction", {"lambda:InvokedViaFunctionUrl": True}),
        )
        for action, context in checks:
            decision = await self._authorizer.decide(principal, action, arn, {**common, **context})
            if not isinstance(decision, Allow):
                return None
        return principal

    async def _authenticate(self, request: HttpRequest) -> Authenticated | None:
        headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in request.headers
        ]
        try:
            claim = await self._authenticator.identify(
                request.method,
                (request.full_path or request.raw_path).encode("latin-1"),
                request.raw_query.encode("latin-1"),
                headers,
                service="lambda",
            )
            return self._authenticator.verify(claim, request.body)
        except NimbusError as exc:
            log.debug("function URL request refused: %s", exc.message)
            return None

    def _call(self, config: UrlConfig, request: HttpRequest, caller: Principal) -> InvokeCall:
        request_id = str(uuid.uuid4())
        event = event_v2(
            request,
            EventContext(
                api_id=config.url_id,
                account_id="anonymous" if caller.kind == "anonymous" else self._arns.account,
                request_id=request_id,
                now_ms=int(self._clock.now() * 1000),
                authorizer=_iam_authorizer(caller) if config.auth_type == "AWS_IAM" else None,
            ),
        )
        return InvokeCall(
            function_name=config.function,
            qualifier=config.qualifier or None,
            payload=orjson.dumps(event),
            request_id=request_id,
            # Only a signed caller's trace header travels on: an anonymous one could forge a
            # Lineage and trip the recursion guard (events/lineage.py) at will.
            trace_header=request.header("x-amzn-trace-id") if caller.kind != "anonymous" else None,
        )

    async def _invoke(self, config: UrlConfig, call: InvokeCall) -> HttpResponse:
        try:
            outcome = await self._invoker.invoke(call)
        except NimbusError as exc:
            log.info("function URL %s: %s", config.url_id, exc.message)
            return refused(exc)
        if outcome.function_error is not None:
            return failed(error_code_of(outcome.payload))
        try:
            return response_v2(outcome.payload)
        except BadFunctionResponse as exc:
            log.info("function URL %s: bad response (%s)", config.url_id, exc)
            return text_response(502, "Internal Server Error")


def _carries_signature(head: HttpRequest) -> bool:
    """Whether the request claims a SigV4 signature at all (header or presigned query): the
    only requests worth reading the body of for an AWS_IAM URL."""
    authorization = head.header("authorization") or ""
    return authorization.startswith("AWS4-HMAC-SHA256") or "X-Amz-Signature=" in head.raw_query


def _iam_authorizer(caller: Principal) -> dict[str, object]:
    """``requestContext.authorizer.iam`` as AWS fills it for a signed caller."""
    return {
        "iam": {
            "accessKey": caller.access_key_id,
            "accountId": caller.account,
            "callerId": caller.user_id,
            "cognitoIdentity": None,
            "principalOrgId": None,
            "userArn": caller.arn,
            "userId": caller.user_id,
        }
    }
