"""Throughput and scale-up through the HTTP API.

1. Warm no-op invokes with 32 concurrent connections, driven by `wrk` (a C client, so the
   client is not the bottleneck) with a Lua POST script, once per memory size (default
   128 MB and 1,769 MB = one vCPU's worth), each on a fresh server.
2. 500 concurrent sync invokes of a handler that sleeps 100 ms, after warm-up: wall time and
   peak ConcurrentExecutions.

    python -m bench.throughput [--duration 10] [--connections 32] [--memory 128,1769]
                               [--burst 500] [--cpu-limit shares|quota]

``--cpu-limit`` sets the server's NIMBUS_CPU_LIMIT (default: the server's own, ``shares``).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time

from bench.common import (
    deploy,
    presigned_headers,
    raw_request,
    report,
    run_wrk,
    running_server,
    summary,
    wrk_script,
)
from nimbus.testing.server import NimbusServer


def wrk_throughput(
    server: NimbusServer, duration: int, connections: int, memory_mb: int
) -> dict[str, object]:
    path = "/2015-03-31/functions/noop/invocations"
    with server.http(timeout=60) as client:
        deploy(client, "noop", MemorySize=memory_mb)
        for _ in range(100):  # warm-up
            client.post(path, content=b"{}")
    # wrk cannot sign: the one request it repeats is signed here (valid five minutes).
    headers = presigned_headers(server, "POST", path, {"Content-Type": "application/json"}, b"{}")
    result = run_wrk(
        f"{server.url}{path}",
        script=wrk_script("POST", b"{}", headers),
        connections=connections,
        duration_s=duration,
    )
    if result is None:
        return {"wrk": "not installed (scripts/install-debian.sh installs it)"}
    return {
        f"warm_noop_wrk_{memory_mb}mb": {
            "connections": connections,
            "duration_s": duration,
            "invokes_per_s": result.requests_per_s,
            "non_2xx": result.non_2xx,
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
        }
    }


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _connect(port: int) -> Connection:
    return await asyncio.open_connection("127.0.0.1", port)


async def _raw_post(conn: Connection, request: bytes) -> tuple[int, float]:
    """One (presigned) POST on an already open keep-alive connection, with asyncio streams:
    an httpx client with 500 connections spends more CPU than the server does, so it would
    time itself."""
    reader, writer = conn
    started = time.perf_counter()
    writer.write(request)
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
    with server.http(timeout=60) as client:
        deploy(
            client, "sleepy", "import time\ndef handler(e, c):\n    time.sleep(0.1)\n    return 1\n"
        )
    request = raw_request(server, "POST", "/2015-03-31/functions/sleepy/invocations", b"{}")
    # `count` clients, each with its own keep-alive connection, opened before timing starts.
    conns = await asyncio.gather(*(_connect(server.port) for _ in range(count)))
    # Warm-up: the first burst creates the environments (cold starts).
    warmup_started = time.perf_counter()
    await asyncio.gather(*(_raw_post(conn, request) for conn in conns))
    warmup_wall = time.perf_counter() - warmup_started
    # Fresh connections for the timed burst, opened before timing: a connection that finished
    # early in a long warm-up sat idle past uvicorn's 5 s keep-alive and was closed.
    for _reader, writer in conns:
        writer.close()
    conns = await asyncio.gather(*(_connect(server.port) for _ in range(count)))
    # The client's own garbage collector must not pause it mid-burst (that would spread the
    # requests out and time the client, not the server).
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        results = await asyncio.gather(*(_raw_post(conn, request) for conn in conns))
        wall = time.perf_counter() - started
    finally:
        gc.enable()
    for _reader, writer in conns:
        writer.close()
    with server.http(timeout=60) as client:
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
    parser.add_argument("--memory", default="128,1769", help="MemorySize values, comma-separated")
    parser.add_argument("--burst", type=int, default=500)
    parser.add_argument("--cpu-limit", choices=["shares", "quota"], default=None)
    args = parser.parse_args()
    env = {"NIMBUS_CPU_LIMIT": args.cpu_limit} if args.cpu_limit else {}
    results: dict[str, object] = {"cpu_limit": args.cpu_limit or "server default"}
    # Each scenario on a fresh node, so one's aftermath (log writes, garbage) is not the
    # other's load.
    for memory_mb in (int(part) for part in args.memory.split(",") if part):
        with running_server(env) as server:
            results.update(wrk_throughput(server, args.duration, args.connections, memory_mb))
    if args.burst:
        with running_server(env) as server:
            results.update(asyncio.run(burst(server, args.burst)))
    report("throughput", results)


if __name__ == "__main__":
    main()
