"""Route table: this node's own diagnostics (its execution environments)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nimbus.frontend.context import Services
from nimbus.frontend.functions_api import json_response


async def environments(request: Request) -> Response:
    services = Services.of(request)
    assert services.invoker is not None
    rows = [
        {
            "id": tracked.env.id,
            "function": tracked.function,
            "poolKey": tracked.pool_key,
            "host": tracked.host_id,
            "memoryMb": tracked.memory_mb,
            "busy": tracked.busy,
            "provisioned": tracked.provisioned,
            "alive": tracked.env.alive,
            # Local environments have a process; remote ones would not.
            "pid": getattr(tracked.env, "pid", None),
        }
        for tracked in services.invoker.environments()
    ]
    return json_response({"environments": rows})


routes = [Route("/_nimbus/environments", environments, methods=["GET"], name="Environments")]
