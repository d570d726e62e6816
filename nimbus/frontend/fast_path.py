"""A direct lane for Invoke, the one hot route.

Starlette's router and its middleware layers cost more than the rest of a warm invoke does
(measured with py-spy under wrk), so Invoke requests skip them: this wrapper matches the path
itself and calls the same handler, with errors rendered by the same single function.
Everything else goes through the Starlette application unchanged.
"""

from __future__ import annotations

import re

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nimbus.errors import NimbusError
from nimbus.frontend.errors import error_response, handle_unexpected
from nimbus.frontend.invoke_api import invoke

INVOKE_PATH = re.compile(r"^/2015-03-31/functions/([^/]+)/invocations/?$")


class InvokeFastPath:
    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            match = INVOKE_PATH.match(scope["path"])
            if match is not None:
                scope["app"] = self.app  # what Services.of() reads, as Starlette would set it
                scope["path_params"] = {"name": match.group(1)}
                request = Request(scope, receive)
                response: Response
                try:
                    response = await invoke(request)
                except NimbusError as exc:
                    response = error_response(exc)
                except Exception as exc:
                    response = await handle_unexpected(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
