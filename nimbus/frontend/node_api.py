"""Route table: this node's own diagnostics (its execution environments and its metrics)."""

from __future__ import annotations

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.frontend.ports import EnvironmentSource
from nimbus.frontend.wire import json_response
from nimbus.observability.metrics import Metrics


class NodeApi:
    def __init__(self, *, environments: EnvironmentSource, metrics: Metrics) -> None:
        self._environments = environments
        self._metrics = metrics

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/_nimbus/environments", self.environments, methods=["GET"], name="Environments"),
            Route("/_nimbus/metrics", self.metrics_json, methods=["GET"], name="Metrics"),
            Route("/metrics", self.metrics_prometheus, methods=["GET"], name="PrometheusMetrics"),
        ]

    async def environments(self, request: Request) -> Response:
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
                "pid": tracked.env.pid,
            }
            for tracked in self._environments.environments()
        ]
        return json_response({"environments": rows})

    async def metrics_json(self, request: Request) -> Response:
        return Response(orjson.dumps(self._metrics.snapshot()), media_type="application/json")

    async def metrics_prometheus(self, request: Request) -> Response:
        return Response(self._metrics.prometheus(), media_type=CONTENT_TYPE_LATEST)
