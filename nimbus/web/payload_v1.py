"""API Gateway's payload format 1.0 for HTTP APIs (the REST API's Lambda proxy shape): the
event a request becomes, and how the function's answer becomes the HTTP response.

AWS's rules ("Working with AWS Lambda proxy integrations for HTTP APIs", format 1.0):

- ``headers`` and ``queryStringParameters`` hold the last value of a repeated name,
  ``multiValueHeaders`` and ``multiValueQueryStringParameters`` every value; the ``cookie``
  header stays a header (1.0 has no ``cookies``). Absent parts are ``null``: query strings,
  ``pathParameters``, ``stageVariables``, ``body``.
- ``resource`` and ``requestContext.resourcePath`` are the route's path (``/items/{id}``, or
  ``$default``), ``requestContext.resourceId`` its route key; ``path`` is the request's
  decoded path (a named stage's segment included, as HTTP APIs send it).
- ``body`` is text for textual content types and base64 (``isBase64Encoded``) otherwise, as
  in format 2.0.
- The answer must be a JSON object with ``statusCode``; ``headers`` and
  ``multiValueHeaders`` are merged (for a name in both, only ``multiValueHeaders``' values);
  ``body`` is a string (base64-decoded when ``isBase64Encoded``). Anything else is an answer
  API Gateway cannot map (500).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

import orjson

from nimbus.web.http_request import HttpRequest, HttpResponse
from nimbus.web.payload_v2 import (
    BadFunctionResponse,
    EventContext,
    body_fields,
    query_parameters,
    request_time,
    structured_response,
)

_IDENTITY_KEYS = (
    "accessKey",
    "accountId",
    "caller",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "sourceIp",
    "user",
    "userAgent",
    "userArn",
)


def resource_of(route_key: str) -> str:
    """``GET /items/{id}`` -> ``/items/{id}``; ``$default`` stays ``$default``."""
    return route_key.split(" ", 1)[1] if " " in route_key else route_key


def event_v1(request: HttpRequest, context: EventContext) -> dict[str, Any]:
    multi_headers: dict[str, list[str]] = {}
    for name, value in request.headers:
        multi_headers.setdefault(name, []).append(value)
    query = query_parameters(request.raw_query)
    path = unquote(request.raw_path)
    resource = resource_of(context.route_key)
    user_agent = multi_headers.get("user-agent", [""])[-1]
    identity: dict[str, Any] = dict.fromkeys(_IDENTITY_KEYS)
    identity["sourceIp"] = request.source_ip
    identity["userAgent"] = user_agent
    body = body_fields(request)
    return {
        "version": "1.0",
        "resource": resource,
        "path": path,
        "httpMethod": request.method,
        "headers": {name: values[-1] for name, values in multi_headers.items()},
        "multiValueHeaders": multi_headers,
        "queryStringParameters": {k: v[-1] for k, v in query.items()} if query else None,
        "multiValueQueryStringParameters": query or None,
        "requestContext": {
            "accountId": context.account_id,
            "apiId": context.api_id,
            "domainName": request.domain_name,
            "domainPrefix": request.domain_name.split(".", 1)[0],
            "extendedRequestId": context.request_id,
            "httpMethod": request.method,
            "identity": identity,
            "path": path,
            "protocol": request.protocol,
            "requestId": context.request_id,
            "requestTime": request_time(context.now_ms),
            "requestTimeEpoch": context.now_ms,
            "resourceId": context.route_key,
            "resourcePath": resource,
            "stage": context.stage,
        },
        "pathParameters": dict(context.path_parameters) if context.path_parameters else None,
        "stageVariables": dict(context.stage_variables) if context.stage_variables else None,
        "body": body.get("body"),
        "isBase64Encoded": body["isBase64Encoded"],
    }


def response_v1(payload: bytes) -> HttpResponse:
    """The HTTP response for a function's successful 1.0 answer. Raises BadFunctionResponse
    for an answer API Gateway cannot map (not an object with ``statusCode``, a body that is
    not a string, headers that are not strings, bad base64)."""
    try:
        answer = orjson.loads(payload) if payload.strip() else None
    except orjson.JSONDecodeError as exc:
        raise BadFunctionResponse("the function's response is not JSON") from exc
    if not isinstance(answer, dict) or "statusCode" not in answer:
        raise BadFunctionResponse("a 1.0 response is an object with statusCode")
    body = answer.get("body")
    if body is not None and not isinstance(body, str):
        raise BadFunctionResponse("body must be a string")
    headers, cookies = _merged_headers(answer.get("headers"), answer.get("multiValueHeaders"))
    return structured_response(
        {
            "statusCode": answer["statusCode"],
            "headers": headers,
            "cookies": cookies,
            "body": body,
            "isBase64Encoded": answer.get("isBase64Encoded") is True,
        }
    )


def _merged_headers(single: object, multi: object) -> tuple[dict[str, str], list[str]]:
    """Both header maps as one (``multiValueHeaders`` wins a name in both), its values
    comma-joined but ``set-cookie``'s, which are returned apart (one header each)."""
    if single is not None and not isinstance(single, Mapping):
        raise BadFunctionResponse("headers must be an object")
    if multi is not None and not isinstance(multi, Mapping):
        raise BadFunctionResponse("multiValueHeaders must be an object")
    values: dict[str, list[str]] = {}
    for name, value in (single or {}).items():
        values[str(name).lower()] = [_text(value)]
    for name, listed in (multi or {}).items():
        if not isinstance(listed, list):
            raise BadFunctionResponse("multiValueHeaders values must be lists")
        values[str(name).lower()] = [_text(v) for v in listed]
    cookies = values.pop("set-cookie", [])
    return {name: ",".join(v) for name, v in values.items()}, cookies


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadFunctionResponse("header values must be strings")
