"""A direct lane for the hot routes: Invoke, and ``POST /`` (the built-in SQS and SNS).

Starlette's router and its middleware layers cost more than the rest of a warm invoke does
(measured with py-spy under wrk), so these requests skip them: this wrapper matches the path
itself and calls the same handlers, with errors rendered by the same single function
(``errors.render_error``) and the same request-id rule (``request_ids``). Everything else goes
through the Starlette application unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from nimbus.frontend import request_ids
from nimbus.frontend.errors import render_error

Handler = Callable[[Request], Awaitable[Response]]

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")
ROOT_PATH = re.compile(r"^/$")


class HotRoutes:
    """``app``, with POSTs to the invoke path and to ``/`` sent straight to their handlers
    (the bound ``InvokeApi.invoke`` and ``RootApi.root``)."""

    def __init__(self, app: ASGIApp, *, invoke: Handler, root: Handler) -> None:
        self.app = app
        # (path pattern, handler, name of the path parameter its one group fills, if any)
        self._routes: tuple[tuple[re.Pattern[str], Handler, str | None], ...] = (
            (INVOKE_PATH, invoke, "name"),
            (ROOT_PATH, root, None),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            for pattern, handler, param in self._routes:
                match = pattern.match(scope["path"])
                if match is None:
                    continue
                scope["path_params"] = {param: match.group(1)} if param else {}
                request = Request(scope, receive)
                response: Response
                try:
                    response = request_ids.ensure(await handler(request), scope)
                except Exception as exc:
                    response = render_error(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
