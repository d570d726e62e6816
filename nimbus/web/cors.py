"""CORS for function URLs and HTTP APIs, answered by the platform from the endpoint's
``Cors`` configuration, as AWS does ("Cross-origin resource sharing (CORS)" in the function
URL guide; API Gateway's "Configuring CORS for an HTTP API"):

- A preflight (``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``) is
  answered by the platform, and the function never sees it, when CORS is configured: the
  allow headers when the origin is allowed, none otherwise. Without a CORS configuration
  the request goes to the function like any other.
- Other requests from an allowed origin get ``Access-Control-Allow-Origin`` (and the
  expose and credentials headers) added; any ``access-control-*`` header the function
  returned is replaced by the configuration's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nimbus.web.http_request import HttpRequest, HttpResponse


@dataclass(frozen=True, kw_only=True)
class CorsConfig:
    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


def is_preflight(request: HttpRequest) -> bool:
    return (
        request.method == "OPTIONS"
        and request.header("origin") is not None
        and request.header("access-control-request-method") is not None
    )


def _allowed_origin(config: CorsConfig, origin: str | None) -> str | None:
    """The Access-Control-Allow-Origin value for ``origin``, or None when not allowed."""
    if origin is None:
        return None
    lowered = origin.lower()
    for allowed in config.allow_origins:
        if allowed == "*":
            # With credentials a browser refuses "*": echo the origin instead.
            return origin if config.allow_credentials else "*"
        if allowed.lower() == lowered:
            return origin
    return None


def _listed(values: Sequence[str], wanted: str) -> bool:
    return "*" in values or wanted.lower() in (v.lower() for v in values)


def preflight(config: CorsConfig, request: HttpRequest) -> HttpResponse:
    """The platform's answer to a preflight."""
    origin = _allowed_origin(config, request.header("origin"))
    method = (request.header("access-control-request-method") or "").upper()
    if origin is None or not _listed(config.allow_methods, method):
        return HttpResponse(status=200)
    headers: list[tuple[str, str]] = [("access-control-allow-origin", origin)]
    requested = request.header("access-control-request-headers")
    if config.allow_headers:
        if "*" in config.allow_headers and requested:
            headers.append(("access-control-allow-headers", requested))
        else:
            allowed = [h for h in config.allow_headers if h != "*"]
            if allowed:
                headers.append(("access-control-allow-headers", ",".join(allowed)))
    methods = ",".join(config.allow_methods) if "*" not in config.allow_methods else method
    headers.append(("access-control-allow-methods", methods))
    if config.allow_credentials:
        headers.append(("access-control-allow-credentials", "true"))
    if config.max_age is not None:
        headers.append(("access-control-max-age", str(config.max_age)))
    if origin != "*":
        headers.append(("vary", "Origin"))
    return HttpResponse(status=200, headers=tuple(headers))


def with_cors(config: CorsConfig, request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``response`` with the configuration's CORS headers for ``request``'s origin."""
    kept = tuple(
        (name, value) for name, value in response.headers if not name.startswith("access-control-")
    )
    origin = _allowed_origin(config, request.header("origin"))
    if origin is None:
        return HttpResponse(status=response.status, headers=kept, body=response.body)
    added: list[tuple[str, str]] = [("access-control-allow-origin", origin)]
    if config.expose_headers:
        added.append(("access-control-expose-headers", ",".join(config.expose_headers)))
    if config.allow_credentials:
        added.append(("access-control-allow-credentials", "true"))
    if origin != "*":
        added.append(("vary", "Origin"))
    return HttpResponse(status=response.status, headers=kept + tuple(added), body=response.body)
