"""Throughput and scale-up through the HTTP API.

1. Warm no-op invokes with 32 concurrent connections, driven by `wrk` (a C client, so the
   client is not the bottleneck) with a Lua POST script.
2. 500 concurrent sync invokes of a handler that sleeps 100 ms, after warm-up: wall time and
   peak ConcurrentExecutions.

    python -m bench.throughput [--duration 10] [--connections 32] [--burst 500]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import deploy, report, summary
from tests.support import NimbusServer

LUA = """
wrk.method = "POST"
wrk.body = "{}"
wrk.headers["Content-Type"] = "application/json"
"""


def _wrk_latency_ms(text: str, label: str) -> float:
    match = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", text, re.MULTILINE)
    if match is None:
        return 0.0
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk_throughput(server: NimbusServer, duration: int, connections: int) -> dict[str, object]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        deploy(client, "noop")
        for _ in range(100):  # warm-up
            client.post("/2015-03-31/functions/noop/invocations", content=b"{}")
    if shutil.which("wrk") is None:
        return {"wrk": "not installed (scripts/install-debian.sh installs it)"}
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(LUA)
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            script.name,
            f"{server.url}/2015-03-31/functions/noop/invocations",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "warm_noop_wrk": {
            "connections": connections,
            "duration_s": duration,
            "invokes_per_s": float(rate.group(1)) if rate else 0.0,
            "non_2xx": int(errors.group(1)) if errors else 0,
            "p50_ms": _wrk_latency_ms(out, "50%"),
            "p99_ms": _wrk_latency_ms(out, "99%"),
        }
    }


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _connect(port: int) -> Connection:
    return await asyncio.open_connection("127.0.0.1", port)


async def _raw_post(conn: Connection, path: str) -> tuple[int, float]:
    """One POST on an already open keep-alive connection, with asyncio streams: an httpx
    client with 500 connections spends more CPU than the server does, so it would time
    itself."""
    reader, writer = conn
    started = time.perf_counter()
    writer.write(f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Length: 2\r\n\r\n{{}}".encode())
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return status, (time.perf_counter() - started) * 1000


async def burst(server: NimbusServer, count: int) -> dict[str, object]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        deploy(
            client, "sleepy", "import time\ndef handler(e, c):\n    time.sleep(0.1)\n    return 1\n"
        )
    path = "/2015-03-31/functions/sleepy/invocations"
    # `count` clients, each with its own keep-alive connection, opened before timing starts.
    conns = await asyncio.gather(*(_connect(server.port) for _ in range(count)))
    # Warm-up: the first burst creates the environments (cold starts).
    warmup_started = time.perf_counter()
    await asyncio.gather(*(_raw_post(conn, path) for conn in conns))
    warmup_wall = time.perf_counter() - warmup_started
    started = time.perf_counter()
    results = await asyncio.gather(*(_raw_post(conn, path) for conn in conns))
    wall = time.perf_counter() - started
    for _reader, writer in conns:
        writer.close()
    with httpx.Client(base_url=server.url, timeout=60) as client:
        metrics = client.get("/_nimbus/metrics").json()["Functions"]["sleepy"]
    return {
        "burst_sleep_100ms": {
            "invokes": count,
            "ok": sum(1 for status, _ in results if status == 200),
            "wall_s": round(wall, 3),
            "cold_burst_wall_s": round(warmup_wall, 3),
            "peak_concurrent_executions": metrics["MaxConcurrentExecutions"],
            **summary([ms for _, ms in results]),
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--burst", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = NimbusServer(data_dir=Path(tmp) / "data", env={"NIMBUS_LOG_LEVEL": "warning"})
        server.start()
        try:
            results = wrk_throughput(server, args.duration, args.connections)
            if args.burst:
                results.update(asyncio.run(burst(server, args.burst)))
        finally:
            server.stop()
    report("throughput", results)


if __name__ == "__main__":
    main()
