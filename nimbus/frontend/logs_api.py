"""Route table: reading function logs (used by `nimbus logs` and the console)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.errors import InvalidParameterValueError
from nimbus.frontend.wire import json_response
from nimbus.model.arn import parse_function_ref
from nimbus.observability.logs import LogStore


def _int(request: Request, key: str, default: int) -> int:
    raw = request.query_params.get(key)
    if raw is None:
        return default
    if not raw.isdigit():
        raise InvalidParameterValueError(f"{key} must be a non-negative integer.")
    return int(raw)


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
            after_id=_int(request, "after", 0),
            limit=min(_int(request, "limit", 1000), 10_000),
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
