"""Shared pieces of the benchmarks: a real server, deploying functions, and reporting.

Every request is signed (SigV4, as the server's administrator), as a real client's is: the
httpx clients sign each request (``NimbusServer.http``); the hand-written socket clients and
wrk's Lua scripts, which cannot or should not spend their time signing, send a request
signed once beforehand (``presigned_headers``) — the server verifies it in full each time,
so the figures include authentication."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nimbus.testing.archive import make_zip
from nimbus.testing.server import (
    ADMIN_ACCESS_KEY_ID,
    ADMIN_SECRET_ACCESS_KEY,
    REGION,
    ROLE,
    NimbusServer,
)
from nimbus.testing.signing import SigV4Auth, sign_headers

NOOP = "def handler(event, context):\n    return None\n"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(values_ms: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "p50_ms": round(statistics.median(values_ms), 3) if values_ms else 0.0,
        "p99_ms": round(percentile(values_ms, 99), 3),
        "min_ms": round(min(values_ms), 3) if values_ms else 0.0,
        "max_ms": round(max(values_ms), 3) if values_ms else 0.0,
    }


def admin_auth(service: str = "lambda") -> SigV4Auth:
    """Signs httpx requests (sync or async clients) as the administrator, for ``service``."""
    return SigV4Auth(ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, region=REGION, service=service)


def presigned_headers(
    server: NimbusServer,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
    *,
    service: str = "lambda",
    unsigned_payload: bool = False,
) -> dict[str, str]:
    """Host, ``headers`` and the signature's own headers for this exact request, signed now as
    the administrator: the same bytes may be sent any number of times for SigV4's five
    minutes. With ``unsigned_payload`` the signature covers no body (X-Amz-Content-SHA256:
    UNSIGNED-PAYLOAD), so requests differing only in their bodies share it."""
    host = f"127.0.0.1:{server.port}"
    given = {"Host": host, **(headers or {})}
    # botocore hashes the body of any plain-http request, UNSIGNED-PAYLOAD or not: signed as
    # https (the scheme is no part of what is signed), so that the header is what it signs.
    scheme = "https" if unsigned_payload else "http"
    signed = sign_headers(
        method,
        f"{scheme}://{host}{path}",
        list(given.items()),
        body,
        access_key_id=ADMIN_ACCESS_KEY_ID,
        secret_access_key=ADMIN_SECRET_ACCESS_KEY,
        region=REGION,
        service=service,
        unsigned_payload=unsigned_payload,
    )
    return {**given, **signed}


def raw_request(server: NimbusServer, method: str, path: str, body: bytes = b"") -> bytes:
    """A whole HTTP/1.1 request, presigned (for the hand-written socket clients)."""
    headers = presigned_headers(server, method, path, body=body)
    head = [f"{method} {path} HTTP/1.1", *(f"{k}: {v}" for k, v in headers.items())]
    head.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def wrk_script(method: str, body: bytes, headers: dict[str, str]) -> str:
    """A wrk Lua script sending one fixed request: ``headers`` (Host and a presigned
    signature included) go as given; wrk adds only Content-Length, which is not signed."""
    lines = [f"wrk.method = {json.dumps(method)}", f"wrk.body = {json.dumps(body.decode())}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    return "\n".join(lines) + "\n"


def deploy(client: httpx.Client, name: str, source: str = NOOP, **config: Any) -> None:
    body = {
        "FunctionName": name,
        "Runtime": config.pop("Runtime", "python3.11"),
        "Role": ROLE,
        "Handler": config.pop("Handler", "app.handler"),
        "Code": {"ZipFile": base64.b64encode(make_zip({"app.py": source})).decode()},
        **config,
    }
    response = client.post("/2015-03-31/functions", json=body)
    response.raise_for_status()
    for _ in range(200):
        state = client.get(f"/2015-03-31/functions/{name}/configuration").json()["State"]
        if state == "Active":
            return
        time.sleep(0.02)
    raise RuntimeError(f"{name} did not become Active")


def report(title: str, results: dict[str, Any]) -> None:
    """Print the figures as JSON (one line, machine-readable) and as a table."""
    print(json.dumps({"benchmark": title, **results}))
    print(f"\n{title}")
    width = max(len(k) for k in results) + 2
    for key, value in results.items():
        if isinstance(value, dict):
            cells = "  ".join(f"{k}={v}" for k, v in value.items())
            print(f"  {key:<{width}}{cells}")
        else:
            print(f"  {key:<{width}}{value}")
    sys.stdout.flush()


def raw_invoke_loop(
    server: NimbusServer, name: str, count: int, *, deadline_s: float = 60
) -> list[float]:
    """Warm invokes of ``name`` over one keep-alive socket, timed in ms: HTTP written and read
    by hand, so the figure is the server's latency, not an HTTP client library's (httpx adds
    ~0.3-0.4 ms a request on this machine). The request is presigned: the server still
    verifies its signature every time."""
    request = raw_request(server, "POST", f"/2015-03-31/functions/{name}/invocations", b"{}")
    return raw_loop(server, request, count, deadline_s=deadline_s)


def raw_loop(
    server: NimbusServer, request: bytes, count: int, *, deadline_s: float = 60
) -> list[float]:
    """``request`` (a whole HTTP/1.1 request) sent ``count`` times over one keep-alive
    socket, each answer read by hand; the round trips in ms. Any answer but 200 fails."""
    timings = []
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        deadline = time.monotonic() + deadline_s
        for _ in range(count):
            started = time.perf_counter()
            sock.sendall(request)
            status = read_response(sock)
            timings.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise RuntimeError(f"the server answered {status}")
            if time.monotonic() > deadline:
                break
    return timings


def read_response(sock: socket.socket) -> int:
    """Read one HTTP response with a Content-Length; its status code."""
    buffer = b""
    while b"\r\n\r\n" not in buffer:
        buffer += _recv(sock)
    head, _, body = buffer.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(
        int(line.split(b":", 1)[1]) for line in lines if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += _recv(sock)
    return int(lines[0].split()[1])


def _recv(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    if not chunk:
        raise RuntimeError("the server closed the connection")
    return chunk


@contextmanager
def running_server(env: dict[str, str] | None = None) -> Iterator[NimbusServer]:
    """A fresh `nimbus server` (and store) for one benchmark run, stopped afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        server = NimbusServer(
            data_dir=Path(tmp) / "data", env={"NIMBUS_LOG_LEVEL": "warning", **(env or {})}
        )
        server.start()
        try:
            yield server
        finally:
            server.stop()


@dataclass(frozen=True, kw_only=True)
class WrkResult:
    output: str
    requests: int
    requests_per_s: float
    non_2xx: int
    p50_ms: float
    p99_ms: float


def _latency_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        return 0.0
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def run_wrk(
    url: str,
    *,
    script: str | Path,
    connections: int,
    duration_s: float,
    env: dict[str, str] | None = None,
) -> WrkResult | None:
    """Drive ``url`` with `wrk` (a C client, so it is not the bottleneck) running a Lua
    ``script`` (its text, or a file); None when wrk is not installed."""
    if shutil.which("wrk") is None:
        return None
    if isinstance(script, str):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
            handle.write(script)
        script = Path(handle.name)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{int(duration_s)}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration_s + 60,
        env={**os.environ, **(env or {})},
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return WrkResult(
        output=out,
        requests=int(total.group(1)) if total else 0,
        requests_per_s=float(rate.group(1)) if rate else 0.0,
        non_2xx=int(errors.group(1)) if errors else 0,
        p50_ms=_latency_ms(out, "50%"),
        p99_ms=_latency_ms(out, "99%"),
    )
