"""The ASGI application: one route table per API, errors rendered in one place."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from nimbus.errors import NimbusError
from nimbus.frontend import functions_api
from nimbus.frontend.context import Services
from nimbus.frontend.errors import handle_nimbus_error, handle_unexpected


async def _not_found(request: Request, _exc: Exception) -> Response:
    return Response(
        orjson.dumps(
            {"Type": "User", "message": f"No operation matches {request.method} {request.url.path}"}
        ),
        status_code=404,
        headers={"X-Amzn-ErrorType": "UnknownOperationException"},
        media_type="application/json",
    )


def build_asgi(
    services: Services | None = None,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    app = Starlette(
        routes=[*functions_api.routes, *extra_routes],
        exception_handlers={
            NimbusError: handle_nimbus_error,
            404: _not_found,
            405: _not_found,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    if services is not None:
        # Otherwise the lifespan sets it once the node is built (see app.build_app).
        app.state.services = services
    return app


__all__ = ["AsyncIterator", "build_asgi"]
