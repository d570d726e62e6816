"""A Runtime API client on one persistent HTTP/1.1 connection (standard library only)."""

from __future__ import annotations

import base64
import json
import socket
from dataclasses import dataclass
from typing import Any

BASE = "/2018-06-01/runtime"
ERROR_TYPE_TRAILER = "Lambda-Runtime-Function-Error-Type"
ERROR_BODY_TRAILER = "Lambda-Runtime-Function-Error-Body"


@dataclass(frozen=True, kw_only=True)
class Invocation:
    request_id: str
    deadline_ms: int
    invoked_function_arn: str
    trace_id: str | None
    client_context: str | None
    cognito_identity: str | None
    body: bytes


class _Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


class _Connection:
    """HTTP/1.1 on one keep-alive socket, just what the Runtime API needs.

    http.client parses every response's headers with the email package, which costs more
    CPU than a no-op invocation itself; a warm environment may be held to 7% of a CPU
    (128 MB), so the client's own cost is latency the function pays.
    """

    def __init__(self, host: str, port: int) -> None:
        self._address = (host, port)
        self._sock: socket.socket | None = None
        self._reader: Any = None

    def _connect(self) -> None:
        # The endpoint is a numeric address: no getaddrinfo (and NSS) on the cold path.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.connect(self._address)
        self._sock = sock
        self._reader = sock.makefile("rb")

    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> _Response:
        if self._sock is None:
            self._connect()
        assert self._sock is not None
        head = [f"{method} {path} HTTP/1.1\r\nHost: runtime\r\n"]
        if method != "GET":
            head.append(f"Content-Length: {len(body)}\r\n")
        for name, value in (headers or {}).items():
            head.append(f"{name}: {value}\r\n")
        head.append("\r\n")
        self._sock.sendall("".join(head).encode("latin-1") + body)
        return self._read_response()

    def begin_stream(self, path: str, headers: dict[str, str]) -> None:
        """Send the head of a chunked POST; its body follows chunk by chunk."""
        if self._sock is None:
            self._connect()
        assert self._sock is not None
        head = [f"POST {path} HTTP/1.1\r\nHost: runtime\r\nTransfer-Encoding: chunked\r\n"]
        head.extend(f"{name}: {value}\r\n" for name, value in headers.items())
        self._sock.sendall(("".join(head) + "\r\n").encode("latin-1"))

    def send_chunk(self, data: bytes) -> None:
        # An empty chunk would end the body: nothing to send for b"".
        if data and self._sock is not None:
            self._sock.sendall(b"%x\r\n%b\r\n" % (len(data), data))

    def end_stream(self, trailers: dict[str, str]) -> _Response:
        assert self._sock is not None
        fields = "".join(f"{name}: {value}\r\n" for name, value in trailers.items())
        self._sock.sendall(b"0\r\n" + fields.encode("latin-1") + b"\r\n")
        return self._read_response()

    def _read_response(self) -> _Response:
        reader = self._reader
        status_line = reader.readline()
        if not status_line:
            raise ConnectionError("the Runtime API closed the connection")
        status = int(status_line.split(None, 2)[1])
        headers: dict[str, str] = {}
        while True:
            line = reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while (size := int(reader.readline().split(b";")[0], 16)) > 0:
                chunks.append(reader.read(size))
                reader.readline()
            reader.readline()
            body = b"".join(chunks)
        else:
            body = reader.read(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return _Response(status, headers, body)

    def close(self) -> None:
        if self._sock is not None:
            self._reader.close()
            self._sock.close()
            self._sock = None


class RuntimeApiClient:
    def __init__(self, address: str) -> None:
        host, _, port = address.rpartition(":")
        self._conn = _Connection(host, int(port))

    def _call(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> _Response:
        return self._conn.request(method, BASE + path, body, headers)

    def next(self) -> Invocation:
        response = self._call("GET", "/invocation/next")
        if response.status != 200:
            raise RuntimeError(f"/next returned {response.status}: {response.body!r}")
        headers = response.headers
        return Invocation(
            request_id=headers["lambda-runtime-aws-request-id"],
            deadline_ms=int(headers.get("lambda-runtime-deadline-ms", "0")),
            invoked_function_arn=headers.get("lambda-runtime-invoked-function-arn", ""),
            trace_id=headers.get("lambda-runtime-trace-id"),
            client_context=headers.get("lambda-runtime-client-context"),
            cognito_identity=headers.get("lambda-runtime-cognito-identity"),
            body=response.body,
        )

    def respond(self, request_id: str, payload: bytes) -> int:
        return self._call("POST", f"/invocation/{request_id}/response", payload).status

    def stream(self, request_id: str, content_type: str) -> ResponseStream:
        """Begin a streamed response (AWS's "Response streaming for custom runtimes"):
        chunked, with error trailers declared up front."""
        self._conn.begin_stream(
            f"{BASE}/invocation/{request_id}/response",
            {
                "Lambda-Runtime-Function-Response-Mode": "streaming",
                "Trailer": f"{ERROR_TYPE_TRAILER}, {ERROR_BODY_TRAILER}",
                "Content-Type": content_type,
            },
        )
        return ResponseStream(self._conn)

    def drop_connection(self) -> None:
        """The Runtime API cut a streamed response off (a limit): start afresh."""
        self._conn.close()

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


class ResponseStream:
    """A streamed response being written: ``write`` each piece as it is ready (it is sent at
    once), then ``finish``, with the error that cut it short if one did."""

    def __init__(self, conn: _Connection) -> None:
        self._conn = conn

    def write(self, data: bytes) -> None:
        self._conn.send_chunk(data)

    def finish(self, error: dict[str, Any] | None = None) -> int:
        trailers: dict[str, str] = {}
        if error is not None:
            body = base64.b64encode(json.dumps(error).encode()).decode()
            trailers = {
                ERROR_TYPE_TRAILER: str(error.get("errorType", "Unhandled")),
                ERROR_BODY_TRAILER: body,
            }
        return self._conn.end_stream(trailers).status
