"""Helpers for the HTTP endpoint tests: a public URL in one call, and requests to it."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer


def allow_public(lam: Any, name: str, qualifier: str | None = None) -> None:
    """The two statements AWS requires for a NONE function URL."""
    extra = {"Qualifier": qualifier} if qualifier else {}
    lam.add_permission(
        FunctionName=name,
        StatementId="url-public",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
        **extra,
    )
    lam.add_permission(
        FunctionName=name,
        StatementId="url-invoke",
        Action="lambda:InvokeFunction",
        Principal="*",
        InvokedViaFunctionUrl=True,
        **extra,
    )


def public_url(lam: Any, name: str, source: str, **config: Any) -> str:
    """Deploy ``source`` with a NONE URL anyone may call; returns the URL."""
    deploy(lam, name, source)
    url: str = lam.create_function_url_config(FunctionName=name, AuthType="NONE", **config)[
        "FunctionUrl"
    ]
    allow_public(lam, name)
    return url


def request(
    server: NimbusServer, url: str, method: str = "GET", path: str = "/", **kw: Any
) -> httpx.Response:
    """``method path`` to the function URL ``url``, sent to the server's own address with the
    URL's Host (as a client resolving ``*.localhost`` to loopback would)."""
    given = kw.pop("headers", {})
    pairs = list(given.items()) if isinstance(given, dict) else list(given)
    headers = [("host", urlsplit(url).netloc), *pairs]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.request(method, path, headers=headers, **kw)
