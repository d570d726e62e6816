"""Which endpoint a request is for (pure): a function URL, an HTTP API, or neither (the AWS
APIs). AWS names them by host — ``<url-id>.lambda-url.<region>.on.aws`` and
``<api-id>.execute-api.<region>.amazonaws.com`` — and so does Nimbus, under its own domain
(``localhost`` by default: ``*.localhost`` resolves to loopback in browsers and curl).
Clients that cannot set ``Host`` use the path-style form, ``/lambda-url/<url-id>/...`` and
``/execute-api/<api-id>/...`` on the server's own address.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

EndpointKind = Literal["url", "api"]
LABELS: dict[EndpointKind, str] = {"url": "lambda-url", "api": "execute-api"}
_ID = r"[a-z0-9]{1,64}"
_PATH_STYLE = re.compile(rf"^/(lambda-url|execute-api)/({_ID})(/.*)?$")


@dataclass(frozen=True)
class Endpoint:
    kind: EndpointKind
    id: str
    region: str
    path: str  # the request's raw path below the endpoint ("/" at least)
    host: str  # the endpoint's host name, as AWS puts it in requestContext.domainName


@dataclass(frozen=True, kw_only=True)
class EndpointNames:
    """How endpoint URLs are spelled: ``<scheme>://<id>.<label>.<region>.<domain>[:port]/``."""

    region: str
    domain: str = "localhost"
    scheme: str = "http"
    port: int | None = None  # None: the scheme's default

    def host(self, kind: EndpointKind, endpoint_id: str) -> str:
        return f"{endpoint_id}.{LABELS[kind]}.{self.region}.{self.domain}"

    def url(self, kind: EndpointKind, endpoint_id: str) -> str:
        default = {"http": 80, "https": 443}.get(self.scheme)
        port = "" if self.port in (None, default) else f":{self.port}"
        return f"{self.scheme}://{self.host(kind, endpoint_id)}{port}/"


def endpoint_of(names: EndpointNames, host: str | None, raw_path: str) -> Endpoint | None:
    """The endpoint a request with this ``Host`` header and path is for, or None."""
    if host:
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        name = name.lower().rstrip(".")
        for kind, label in LABELS.items():
            suffix = f".{label}.{names.region}.{names.domain}"
            if name.endswith(suffix):
                endpoint_id = name[: -len(suffix)]
                if re.fullmatch(_ID, endpoint_id):
                    return Endpoint(kind, endpoint_id, names.region, raw_path or "/", name)
    matched = _PATH_STYLE.match(raw_path)
    if matched is None:
        return None
    styled: EndpointKind = "url" if matched.group(1) == "lambda-url" else "api"
    endpoint_id = matched.group(2)
    return Endpoint(
        styled, endpoint_id, names.region, matched.group(3) or "/", names.host(styled, endpoint_id)
    )
