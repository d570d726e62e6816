"""The gate: every request authenticated (SigV4) and authorized (IAM) before any route sees
it, as AWS's front door does — one ASGI wrapper outside everything else.

For each HTTP request it marks the wire protocol errors are rendered in (restJson for Lambda
paths, SQS's JSON for ``X-Amz-Target: AmazonSQS.*``, JSON 1.1 for EventBridge's
``AWSEvents.*``, the query protocol's XML for any other ``POST /``), reads the body once
(bounded as AWS bounds it: 6 MB, but the code uploads' 50 MB zip base64'd in JSON
(``operations.body_bound``); beyond it 413, in the error the operation's handler would
answer, before reading on),
checks the signature (``auth.authenticator``), names the operation's IAM action and resource
(``frontend.operations``), asks the authorizer, and passes the request on with its body
replayed and ``scope["nimbus.principal"]`` / ``scope["nimbus.service"]`` (the signed
service name) / ``scope["nimbus.operation"]`` set, and for ``POST /``'s query protocol the
form it authorized (``scope["nimbus.form"]``: ``root_api`` acts on that very form). Query
parameters are read once, as the handlers read them (``params.query_values``: a repeated
name is its last value), so what is authorized is what is done.

A request whose operation has no IAM action is refused — a route Nimbus does not have is
UnknownOperationException (the router's answer), ``POST /`` without a known Action
InvalidAction — but for the operations that decide for themselves
(``SELF_AUTHORIZED``: STS's GetCallerIdentity, which needs no permission, and AssumeRole,
decided by the role's trust policy).

Denials are AWS's words ("User: <arn> is not authorized to perform: lambda:GetFunction on
resource: <arn> because no identity-based policy allows the lambda:GetFunction action"), as
``AccessDeniedException`` (Lambda, 403), ``AccessDenied`` (SQS, IAM) or SNS's
``AuthorizationError``. Presigned code-download URLs (``frontend.code_urls``) are accepted
instead of a signature on their one path. With ``auth="off"`` nothing is checked and every
request acts as the account's root (refused unless the server listens on loopback:
``loopback_problem``). Nothing here logs a header or a secret.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from nimbus.auth.authenticator import Authenticated, Claim
from nimbus.auth.errors import QUERY_MISSING_TOKEN, MissingAuthenticationTokenError
from nimbus.auth.policy import Allow, Decision, denial_message
from nimbus.auth.policy import Request as PolicyRequest
from nimbus.auth.principal import Principal
from nimbus.frontend import operations
from nimbus.frontend.asgi_body import (
    asgi_header,
    json_object,
    read_body,
    replaying,
    too_large_error,
)
from nimbus.frontend.auth_mode import AUTH_MODES
from nimbus.frontend.code_urls import CodeUrls
from nimbus.frontend.denials import denial, unknown_operation
from nimbus.frontend.errors import WireProtocol, mark_protocol, render_error
from nimbus.frontend.implied_access import implied_checks
from nimbus.frontend.operations import Operation, OperationRequest
from nimbus.frontend.params import (
    FORM_KEY,
    OPERATION_KEY,
    PARSED_BODY_KEY,  # params.json_body reuses the gate's parse
    PRINCIPAL_KEY,
    SERVICE_KEY,
    query_form,
    query_values,
)
from nimbus.model.arn import Arns

__all__ = ["OPERATION_KEY", "PRINCIPAL_KEY", "SERVICE_KEY", "AuthGate"]

# X-Amz-Target prefixes of the JSON protocols on POST / (SQS's, EventBridge's JSON 1.1): their
# bodies are JSON objects, not query forms.
JSON_TARGETS: Final = ("AmazonSQS.", "AWSEvents.")
# Operations with no IAM action the gate lets through: they decide for themselves.
SELF_AUTHORIZED: Final = frozenset({("sts", "GetCallerIdentity"), ("sts", "AssumeRole")})
# A 50 MB zip is 69,905,067 bytes once base64'd in CreateFunction's JSON (AWS's bound): the
# most any request may have.
MAX_BODY: Final = operations.MAX_CODE_REQUEST
# What their handlers answer a payload past their bound (botocore's lambda model documents
# RequestTooLargeException for Invoke); the rest of Lambda's say RequestEntityTooLarge.
_SIGNED_QUERY: Final = b"X-Amz-Signature="


def transport_keys(source_ip: str | None, *, https: bool) -> dict[str, object]:
    """The global condition keys every request carries, whichever door it came in by (the
    gate, a function URL): ``aws:SourceIp`` and ``aws:SecureTransport``."""
    keys: dict[str, object] = {"aws:SecureTransport": https}
    if source_ip:
        keys["aws:SourceIp"] = source_ip
    return keys


class Authenticate(Protocol):
    """``auth.authenticator.Authenticator``: ``identify`` before the body is read (the key,
    scope and time), ``verify`` the signature over it."""

    async def identify(
        self,
        method: str,
        raw_path: bytes,
        query_string: bytes,
        headers: Sequence[tuple[bytes, bytes]],
        *,
        service: str | None = None,
    ) -> Claim: ...

    def verify(
        self, claim: Claim, body: bytes, *, body_sha256: str | None = None
    ) -> Authenticated: ...


class IamArns(Protocol):
    """``iam.directory.IdentityDirectory.canonical_arn``: a user's or role's ARN with its
    real path (the request names only the entity)."""

    async def canonical_arn(self, arn: str) -> str: ...


class Decide(Protocol):
    """``auth.authorizer.Authorizer.decide``."""

    async def decide(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, object] | None = None,
    ) -> Decision: ...


def protocol_of(method: str, path: str, headers: Sequence[tuple[bytes, bytes]]) -> WireProtocol:
    """The wire protocol a request's errors are rendered in (pure)."""
    if path != "/" or method != "POST":
        return "s3-xml" if path.startswith("/_nimbus/code/") else "rest-json"
    target = asgi_header(headers, b"x-amz-target") or b""
    if target.startswith(b"AWSEvents."):
        return "json-1.1"
    return "sqs-json" if target.startswith(b"AmazonSQS.") else "query"


def signed_service(headers: Sequence[tuple[bytes, bytes]], query_string: bytes) -> str:
    """The service a request's credential scope names, unverified ("" if none): with auth
    off, ``POST /`` still dispatches on it."""
    authorization = asgi_header(headers, b"authorization") or b""
    marker = authorization.find(b"Credential=")
    if marker >= 0:
        scope = authorization[marker + 11 :].split(b",", 1)[0].split(b"/")
    else:
        credential = dict(parse_qsl(query_string.decode("latin-1"))).get("X-Amz-Credential", "")
        scope = credential.encode().split(b"/")
    return scope[3].decode("latin-1") if len(scope) == 5 else ""


class AuthGate:
    """``app`` behind authentication and authorization (``auth="on"``), or with every request
    acting as ``root`` (``auth="off"``)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        authenticator: Authenticate | None,
        authorizer: Decide | None,
        arns: Arns,
        code_urls: CodeUrls,
        root: Principal,
        auth: str = "on",
        max_body: int = MAX_BODY,
        iam_arns: IamArns | None = None,
    ) -> None:
        if auth not in AUTH_MODES:
            # Anything but "on" must not quietly mean off.
            raise ValueError(f"auth must be 'on' or 'off', not {auth!r}")
        if auth == "on" and (authenticator is None or authorizer is None):
            raise ValueError("auth on needs an authenticator and an authorizer")
        self.app = app
        self._authenticator = authenticator
        self._authorizer = authorizer
        self._arns = arns
        self._code_urls = code_urls
        self._root = root
        self._on = auth == "on"
        self._max_body = max_body
        self._iam_arns = iam_arns

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        method: str = scope["method"]
        path: str = scope["path"]
        protocol = protocol_of(method, path, headers)
        request = Request(scope, receive)
        mark_protocol(request, protocol)
        try:
            if self._on:
                forward = await self._admit(scope, receive, headers, method, path)
            else:
                forward = await self._admit_unchecked(scope, receive, headers, path)
        except Exception as exc:
            response = render_error(request, exc)
            await response(scope, receive, send)
            return
        await self.app(scope, forward, send)

    async def _admit_unchecked(
        self, scope: Scope, receive: Receive, headers: list[tuple[bytes, bytes]], path: str
    ) -> Receive:
        """auth off: the root principal, and the service ``POST /`` dispatches on — from the
        (unverified) signature, or for an unsigned query request from its Action."""
        scope[PRINCIPAL_KEY] = self._root
        service = signed_service(headers, scope.get("query_string", b""))
        if path == "/" and not service:
            target = asgi_header(headers, b"x-amz-target") or b""
            if target.startswith(b"AmazonSQS."):
                service = "sqs"
            elif target.startswith(b"AWSEvents."):
                service = "events"
            else:
                limit = min(operations.body_bound("POST", path)[0], self._max_body)
                body = await read_body(receive, headers, limit)
                form = query_form(body, scope.get("query_string", b""))
                service = operations.query_service(form.get("Action", ""))
                scope[SERVICE_KEY] = service
                scope[FORM_KEY] = form
                return replaying(body, receive)
        scope[SERVICE_KEY] = service or "lambda"
        return receive

    async def _admit(
        self,
        scope: Scope,
        receive: Receive,
        headers: list[tuple[bytes, bytes]],
        method: str,
        path: str,
    ) -> Receive:
        query_string: bytes = scope.get("query_string", b"")
        query = query_values(query_string) if query_string else {}
        if method == "GET" and CodeUrls.is_presigned(path, query):
            self._code_urls.check(path, query)
            scope[PRINCIPAL_KEY] = self._root
            scope[SERVICE_KEY] = "lambda"
            return receive
        assert self._authenticator is not None and self._authorizer is not None
        signed = asgi_header(headers, b"authorization") is not None or _SIGNED_QUERY in query_string
        if not signed:
            if protocol_of(method, path, headers) == "query":
                raise MissingAuthenticationTokenError(QUERY_MISSING_TOKEN)
            raise MissingAuthenticationTokenError()
        target = (asgi_header(headers, b"x-amz-target") or b"").decode("latin-1")
        # The key, scope and time first: nobody without a valid key makes us read a body.
        claim = await self._authenticator.identify(
            method,
            scope.get("raw_path") or path.encode(),
            query_string,
            headers,
            service=_expected_service(path, target),
        )
        bound, name = operations.body_bound(method, path)
        limit = min(bound, self._max_body)
        body = await read_body(receive, headers, limit, too_large_error(limit, name))
        is_root_path = path == "/"
        authenticated = self._authenticator.verify(claim, body)
        principal = authenticated.principal
        params: Mapping[str, Any] = {}
        if is_root_path and not target.startswith(JSON_TARGETS):
            params = scope[FORM_KEY] = query_form(body, query_string)
        elif operations.needs_body(method, path):
            parsed = json_object(body)
            if parsed is not None:
                params = parsed
                if not is_root_path:
                    scope[PARSED_BODY_KEY] = (body, parsed)
        operation = operations.resolve(
            OperationRequest(
                method=method,
                path=path,
                query=query,
                target=target,
                service=authenticated.service,
                params=params,
                caller=principal.arn,
            ),
            self._arns,
        )
        if operation.service == "iam" and self._iam_arns is not None:
            # A UserName/RoleName is authorized on the entity's real ARN, path included.
            operation = replace(
                operation, resource=await self._iam_arns.canonical_arn(operation.resource)
            )
        await self._authorize(principal, operation, scope)
        # What the operation makes Nimbus do on the caller's behalf later (PassRole, the
        # targets of destinations, mappings and subscriptions): the caller's to allow too.
        for check in implied_checks(operation, params):
            implied = replace(
                operation, action=check.action, resource=check.resource, context=check.context
            )
            await self._authorize(principal, implied, scope)
        scope[PRINCIPAL_KEY] = principal
        scope[SERVICE_KEY] = authenticated.service
        scope[OPERATION_KEY] = operation
        return replaying(body, receive)

    async def _authorize(self, principal: Principal, operation: Operation, scope: Scope) -> None:
        assert self._authorizer is not None
        if operation.action is None:
            if (operation.service, operation.name) in SELF_AUTHORIZED:
                return
            raise unknown_operation(operation)
        client = scope.get("client")
        context: dict[str, object] = {
            **operation.context,
            **transport_keys(client[0] if client else None, https=scope.get("scheme") == "https"),
        }
        decision = await self._authorizer.decide(
            principal, operation.action, operation.resource, context
        )
        if isinstance(decision, Allow):
            return
        message = denial_message(
            decision,
            PolicyRequest(
                principal=principal,
                action=operation.action,
                resource=operation.resource,
                context={},
            ),
        )
        raise denial(operation, message)


def _expected_service(path: str, target: str) -> str | None:
    """The one service a request's credential scope may name, when its path says: Lambda's
    paths are "lambda", SQS's JSON protocol is "sqs", API Gateway's ``/v2/...`` "apigateway"
    (botocore's apigatewayv2 signingName); ``POST /``'s query protocol may be SNS, IAM or STS,
    and Nimbus's own routes accept any."""
    if path == "/":
        if target.startswith("AWSEvents."):
            return "events"
        return "sqs" if target.startswith("AmazonSQS.") else None
    if path.startswith("/_nimbus/") or path == "/metrics":
        return None
    if path.startswith("/v2/"):
        return "apigateway"
    if operations.is_scheduler(path):
        return "scheduler"  # botocore's scheduler signingName
    return "lambda"
