"""Route table: reading function logs (used by `nimbus logs` and the console)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.frontend import params
from nimbus.frontend.wire import json_response
from nimbus.model.arn import parse_function_ref
from nimbus.observability.logs import LogStore


class LogsApi:
    def __init__(self, *, logs: LogStore) -> None:
        self._logs = logs

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/_nimbus/logs/{name}", self.function_logs, methods=["GET"], name="FunctionLogs")
        ]

    async def function_logs(self, request: Request) -> Response:
        ref = parse_function_ref(request.path_params["name"], allow_qualifier=False)
        events = await self._logs.query(
            f"/aws/lambda/{ref.name}",
            after_id=params.non_negative(request, "after", 0),
            limit=min(params.non_negative(request, "limit", 1000), 10_000),
        )
        return json_response(
            {
                "events": [
                    {
                        "id": e.id,
                        "logStreamName": e.stream,
                        "timestamp": e.timestamp_ms,
                        "message": e.message,
                    }
                    for e in events
                ]
            }
        )
