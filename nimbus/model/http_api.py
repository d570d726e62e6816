"""API Gateway HTTP APIs (``apigatewayv2``, ProtocolType HTTP): an API, its integrations (a
Lambda function behind an ``AWS_PROXY``), its routes (a route key and the integration it
targets) and its stages (where it is served, with stage variables)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_ROUTE = "$default"
DEFAULT_STAGE = "$default"
TARGET_PREFIX = "integrations/"
DEFAULT_TIMEOUT_MS = 30_000  # API Gateway's integration timeout for HTTP APIs


@dataclass(frozen=True, kw_only=True)
class ApiCors:
    """An API's ``CorsConfiguration``; the platform answers preflights from it."""

    allow_origins: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool | None = None
    max_age: int | None = None


@dataclass(frozen=True, kw_only=True)
class HttpApi:
    api_id: str
    name: str
    created: float  # epoch seconds
    protocol_type: str = "HTTP"
    description: str | None = None
    version: str | None = None
    cors: ApiCors | None = None
    disable_execute_api_endpoint: bool = False
    route_selection_expression: str = "$request.method $request.path"
    api_key_selection_expression: str = "$request.header.x-api-key"
    ip_address_type: str = "ipv4"
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Integration:
    integration_id: str
    integration_type: str  # AWS_PROXY (the only type Nimbus serves)
    integration_uri: str  # as given: a function ARN or the apigateway:lambda:path form
    payload_format_version: str  # "1.0" or "2.0"
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    description: str | None = None
    integration_method: str = "POST"
    connection_type: str = "INTERNET"
    api_gateway_managed: bool = False  # made by CreateApi's quick create


@dataclass(frozen=True, kw_only=True)
class Route:
    route_id: str
    route_key: str  # "$default" or "METHOD /path"
    target: str | None = None  # "integrations/<id>"
    authorization_type: str = "NONE"
    api_key_required: bool = False
    operation_name: str | None = None
    api_gateway_managed: bool = False

    @property
    def integration_id(self) -> str | None:
        if self.target is None or not self.target.startswith(TARGET_PREFIX):
            return None
        return self.target.removeprefix(TARGET_PREFIX)


@dataclass(frozen=True, kw_only=True)
class Stage:
    stage_name: str
    created: float
    last_updated: float
    auto_deploy: bool = False
    description: str | None = None
    stage_variables: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    api_gateway_managed: bool = False


@dataclass(frozen=True, kw_only=True)
class ApiDefinition:
    """One API whole: what a request to it is served from."""

    api: HttpApi
    integrations: Mapping[str, Integration]
    routes: tuple[Route, ...]
    stages: Mapping[str, Stage]
