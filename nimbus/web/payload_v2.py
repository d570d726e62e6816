"""API Gateway's payload format 2.0, which function URLs use too: the event a request
becomes, and how the function's answer becomes the HTTP response.

AWS's rules ("Lambda function URL request and response payloads"; API Gateway developer
guide, "Working with AWS Lambda proxy integrations for HTTP APIs"):

- Header names are lower-cased and repeated headers joined with commas; the ``cookie``
  header is taken out of ``headers`` and split into ``cookies``. Repeated query parameters
  are joined with commas in ``queryStringParameters``; ``rawQueryString`` is as sent. Keys
  with nothing to say (no cookies, no query, no body) are left out.
- ``body`` is text for textual content types and base64 (``isBase64Encoded``) otherwise.
- A response that is a JSON object with ``statusCode`` is structured: its ``headers``,
  ``cookies`` (each a ``set-cookie`` header) and ``body`` (base64-decoded when
  ``isBase64Encoded``). Any other valid JSON is the body itself, 200, ``application/json``
  (a function returning ``"Hello"`` sends the six bytes ``"Hello"``, quotes included).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

from nimbus.web.http_request import HttpRequest, HttpResponse

# Content types whose bodies reach the function as text (the rest are base64).
_TEXT_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/graphql",
    }
)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class BadFunctionResponse(ValueError):
    """The function's answer cannot be made an HTTP response (AWS answers 502)."""


@dataclass(frozen=True, kw_only=True)
class EventContext:
    """What the endpoint knows beside the request."""

    api_id: str  # the URL id or the HTTP API's id
    account_id: str  # "anonymous" for a NONE function URL
    request_id: str
    now_ms: int  # epoch milliseconds
    route_key: str = "$default"
    stage: str = "$default"
    path_parameters: Mapping[str, str] | None = None
    stage_variables: Mapping[str, str] | None = None
    authorizer: Mapping[str, Any] | None = None  # {"iam": {...}} for AWS_IAM


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return False
    kind = content_type.split(";", 1)[0].strip().lower()
    return (
        kind.startswith("text/")
        or kind in _TEXT_TYPES
        or kind.endswith("+json")
        or kind.endswith("+xml")
    )


def request_time(now_ms: int) -> str:
    """``12/Mar/2020:19:03:58 +0000`` (the CLF date API Gateway puts in ``time``)."""
    at = datetime.fromtimestamp(now_ms / 1000, UTC)
    return f"{at.day:02d}/{_MONTHS[at.month - 1]}/{at:%Y:%H:%M:%S} +0000"


def joined_headers(request: HttpRequest) -> dict[str, str]:
    """Lower-cased names, repeated headers comma-joined, ``cookie`` left out."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        if name == "cookie":
            continue
        headers[name] = f"{headers[name]},{value}" if name in headers else value
    return headers


def cookies_of(request: HttpRequest) -> list[str]:
    return [
        part.strip()
        for name, value in request.headers
        if name == "cookie"
        for part in value.split(";")
        if part.strip()
    ]


def query_parameters(raw_query: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        values.setdefault(name, []).append(value)
    return values


def body_fields(request: HttpRequest) -> dict[str, Any]:
    """``body`` and ``isBase64Encoded`` (``body`` left out when there is none)."""
    if not request.body:
        return {"isBase64Encoded": False}
    if is_text(request.header("content-type")):
        try:
            return {"body": request.body.decode(), "isBase64Encoded": False}
        except UnicodeDecodeError:
            pass  # declared text, but not UTF-8: it can only travel as base64
    return {"body": base64.b64encode(request.body).decode(), "isBase64Encoded": True}


def event_v2(request: HttpRequest, context: EventContext) -> dict[str, Any]:
    headers = joined_headers(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": context.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    cookies = cookies_of(request)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = {name: ",".join(v) for name, v in query.items()}
    prefix = request.domain_name.split(".", 1)[0]
    request_context: dict[str, Any] = {
        "accountId": context.account_id,
        "apiId": context.api_id,
    }
    if context.authorizer is not None:
        request_context["authorizer"] = dict(context.authorizer)
    request_context.update(
        {
            "domainName": request.domain_name,
            "domainPrefix": prefix,
            "http": {
                "method": request.method,
                "path": unquote(request.raw_path),
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": context.request_id,
            "routeKey": context.route_key,
            "stage": context.stage,
            "time": request_time(context.now_ms),
            "timeEpoch": context.now_ms,
        }
    )
    event["requestContext"] = request_context
    if context.path_parameters:
        event["pathParameters"] = dict(context.path_parameters)
    if context.stage_variables:
        event["stageVariables"] = dict(context.stage_variables)
    event.update(body_fields(request))
    return event


def response_v2(payload: bytes) -> HttpResponse:
    """The HTTP response for a function's successful answer. Raises BadFunctionResponse
    for an answer API Gateway would refuse (not JSON, a bad status, bad base64)."""
    try:
        answer = orjson.loads(payload) if payload.strip() else None
    except orjson.JSONDecodeError as exc:
        raise BadFunctionResponse("the function's response is not JSON") from exc
    if not isinstance(answer, dict) or "statusCode" not in answer:
        return HttpResponse(
            status=200, headers=(("content-type", "application/json"),), body=payload
        )
    return structured_response(answer)


def structured_response(answer: Mapping[str, Any]) -> HttpResponse:
    status = answer.get("statusCode")
    if isinstance(status, str) and status.isascii() and status.isdigit():
        status = int(status)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise BadFunctionResponse(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    raw_headers = answer.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise BadFunctionResponse("headers must be an object")
    for name, value in raw_headers.items():
        headers.append((_header_name(str(name)), _safe(_header_value(value))))
    cookies = answer.get("cookies")
    if cookies is None:
        cookies = []
    if not isinstance(cookies, list):
        raise BadFunctionResponse("cookies must be a list")
    for cookie in cookies:
        headers.append(("set-cookie", _safe(str(cookie))))
    body = answer.get("body")
    if body is None:
        data = b""
    elif isinstance(body, str):
        data = body.encode()
    else:
        data = orjson.dumps(body)
    if answer.get("isBase64Encoded") is True and data:
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise BadFunctionResponse("body is not valid base64") from exc
    if not any(name == "content-type" for name, _ in headers) and data:
        headers.append(("content-type", "application/json"))
    return HttpResponse(status=status, headers=tuple(headers), body=data)


def safe_headers(pairs: Sequence[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """Headers a function chose (a streamed response's prelude), checked as a structured
    answer's are: lower-cased token names, values that cannot split the response. Raises
    BadFunctionResponse."""
    return tuple((_header_name(name), _safe(value)) for name, value in pairs)


def _header_name(name: str) -> str:
    """A header name is an HTTP token (RFC 9110): anything else could split the response."""
    if not name or not _TOKEN.fullmatch(name):
        raise BadFunctionResponse(f"{name!r} is not a valid header name")
    return name.lower()


def _safe(value: str) -> str:
    """No CR, LF or NUL in a value: the function must not be able to add headers of its own
    or end the head early (response splitting)."""
    if any(c in value for c in "\r\n\0"):
        raise BadFunctionResponse("a header value holds a line break")
    try:
        value.encode("latin-1")  # what HTTP/1.1 header bytes can carry
    except UnicodeEncodeError as exc:
        raise BadFunctionResponse("a header value is not ISO-8859-1") from exc
    return value


def _header_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_header_value(v) for v in value)
    return str(value)
