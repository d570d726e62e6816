"""A direct lane for the hot routes: Invoke, and ``POST /`` (the built-in SQS and SNS).

Starlette's router and its middleware layers cost more than the rest of a warm invoke does
(measured with py-spy under wrk), so these requests skip them: this wrapper matches the path
itself and calls the same handlers, with errors rendered by the same single function.
Everything else goes through the Starlette application unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nimbus.errors import NimbusError
from nimbus.frontend.errors import error_response, handle_unexpected
from nimbus.frontend.invoke_api import invoke
from nimbus.frontend.root_api import root

Handler = Callable[[Request], Awaitable[Response]]

# (path pattern, handler, name of the path parameter its one group fills, if any)
HOT_POST_ROUTES: tuple[tuple[re.Pattern[str], Handler, str | None], ...] = (
    (re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$"), invoke, "name"),
    (re.compile(r"^/$"), root, None),
)


class HotRoutes:
    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for pattern, handler, param in HOT_POST_ROUTES:
                match = pattern.match(scope["path"])
                if match is None:
                    continue
                scope["app"] = self.app  # what Services.of() reads, as Starlette would set it
                scope["path_params"] = {param: match.group(1)} if param else {}
                request = Request(scope, receive)
                response: Response
                try:
                    response = await handler(request)
                except NimbusError as exc:
                    response = error_response(exc)
                except Exception as exc:
                    response = await handle_unexpected(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
