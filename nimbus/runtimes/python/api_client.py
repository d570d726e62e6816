"""A Runtime API client on one persistent HTTP/1.1 connection (standard library only)."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any

BASE = "/2018-06-01/runtime"


@dataclass(frozen=True, kw_only=True)
class Invocation:
    request_id: str
    deadline_ms: int
    invoked_function_arn: str
    trace_id: str | None
    client_context: str | None
    cognito_identity: str | None
    body: bytes


class _Connection(http.client.HTTPConnection):
    def connect(self) -> None:
        # The endpoint is a numeric address: skip getaddrinfo (and NSS) on the cold path.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect((self.host, self.port))
        self.sock = sock


class RuntimeApiClient:
    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._conn = _Connection(host, int(port))

    def _call(self, method: str, path: str, body: bytes | None = None,
              headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        self._conn.request(method, BASE + path, body=body, headers=headers or {})
        response = self._conn.getresponse()
        response.read()  # complete the exchange so the connection can be reused
        return response

    def next(self) -> Invocation:
        self._conn.request("GET", BASE + "/invocation/next")
        response = self._conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"/next returned {response.status}: {body!r}")
        headers = response.headers
        return Invocation(
            request_id=headers["Lambda-Runtime-Aws-Request-Id"],
            deadline_ms=int(headers.get("Lambda-Runtime-Deadline-Ms", "0")),
            invoked_function_arn=headers.get("Lambda-Runtime-Invoked-Function-Arn", ""),
            trace_id=headers.get("Lambda-Runtime-Trace-Id"),
            client_context=headers.get("Lambda-Runtime-Client-Context"),
            cognito_identity=headers.get("Lambda-Runtime-Cognito-Identity"),
            body=body,
        )

    def respond(self, request_id: str, payload: bytes) -> int:
        return self._call("POST", f"/invocation/{request_id}/response", payload).status

    def error(self, request_id: str, error: dict[str, Any]) -> int:
        return self._call(
            "POST",
            f"/invocation/{request_id}/error",
            json.dumps(error).encode(),
            {"Lambda-Runtime-Function-Error-Type": str(error.get("errorType", "Unhandled"))},
        ).status

    def init_error(self, error: dict[str, Any]) -> int:
        return self._call(
            "POST",
            "/init/error",
            json.dumps(error).encode(),
            {"Lambda-Runtime-Function-Error-Type": str(error.get("errorType", "Unhandled"))},
        ).status
