"""Cold start and warm invoke latency through the HTTP API (keep-alive client), Python no-op
handler, default isolation, at 1,769 MB (one vCPU's worth) and at the default 128 MB, from
httpx (as a Python caller sees it) and from a hand-written keep-alive socket client (the
server's own latency, without ~0.3-0.4 ms of httpx). Also: 200 distinct functions
cold-started concurrently.

    python -m bench.invoke_latency [--cold 50] [--warm 2000] [--concurrent 200]
                                   [--cpu-limit shares|quota]

``--cpu-limit`` sets the server's NIMBUS_CPU_LIMIT (default: the server's own default,
``shares``); ``quota`` shows what the hard AWS-like CPU quota costs a 128 MB function.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from pathlib import Path

import httpx

from bench.common import admin_auth, deploy, raw_invoke_loop, report, running_server, summary
from nimbus.testing.server import NimbusServer


def cold_and_warm(server: NimbusServer, cold: int, warm: int) -> dict[str, object]:
    with server.http(timeout=60) as client:
        names = [f"cold-{i}" for i in range(cold)]
        for name in names:
            deploy(client, name)
        # One vCPU (1,769 MB, as AWS) and the default 128 MB: with CPU weights (the default
        # policy) both should time the platform's own overhead; under the hard quota
        # (--cpu-limit quota) 128 MB gets 7% of a CPU and a tight loop is throttled.
        deploy(client, "warm", MemorySize=1769)
        deploy(client, "warm128", MemorySize=128)
        cold_ms = []
        for name in names:
            started = time.perf_counter()
            response = client.post(f"/2015-03-31/functions/{name}/invocations", content=b"{}")
            cold_ms.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and "x-amz-function-error" not in response.headers
        warm_ms = _warm_loop(client, "warm", warm)
        warm128_ms = _warm_loop(client, "warm128", warm)
        # The same, from a client that costs next to nothing: the server's own latency.
        raw_ms = raw_invoke_loop(server, "warm", warm)
        raw128_ms = raw_invoke_loop(server, "warm128", warm)
        envs = client.get("/_nimbus/environments").json()["environments"]
    uss = [mb for env in envs if env["pid"] and not env["busy"] for mb in [_uss_mb(env["pid"])]]
    return {
        "cold_start": summary(cold_ms),
        "warm_invoke_1769mb": summary(warm_ms),
        "warm_invoke_128mb": summary(warm128_ms),
        "warm_invoke_1769mb_raw_client": summary(raw_ms),
        "warm_invoke_128mb_raw_client": summary(raw128_ms),
        "idle_environment_uss_mb": {
            "environments": len(uss),
            "p50": round(statistics.median(uss), 2) if uss else 0.0,
            "max": round(max(uss), 2) if uss else 0.0,
        },
    }


def _uss_mb(pid: int) -> float:
    """Unique set size: the memory only this environment's runtime holds (private pages)."""
    total_kb = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                total_kb += int(line.split()[1])
    except OSError:
        return 0.0
    return total_kb / 1024


def _warm_loop(client: httpx.Client, name: str, count: int) -> list[float]:
    client.post(f"/2015-03-31/functions/{name}/invocations", content=b"{}")
    timings = []
    deadline = time.monotonic() + 60
    for _ in range(count):
        started = time.perf_counter()
        response = client.post(f"/2015-03-31/functions/{name}/invocations", content=b"{}")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
        if time.monotonic() > deadline:
            break
    return timings


async def concurrent_cold(server: NimbusServer, count: int) -> dict[str, object]:
    with server.http(timeout=60) as setup:
        for i in range(count):
            deploy(setup, f"burst-{i}", f"def handler(e, c):\n    return {{'id': {i}, 'e': e}}\n")
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(
        base_url=server.url, timeout=120, limits=limits, auth=admin_auth()
    ) as client:

        async def one(i: int) -> tuple[bool, float]:
            started = time.perf_counter()
            response = await client.post(
                f"/2015-03-31/functions/burst-{i}/invocations", content=f'{{"n": {i}}}'.encode()
            )
            elapsed = (time.perf_counter() - started) * 1000
            ok = response.status_code == 200 and response.json() == {"id": i, "e": {"n": i}}
            return ok, elapsed

        started = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(count)))
        wall = time.perf_counter() - started
    return {
        "concurrent_cold_starts": {
            "functions": count,
            "correct": sum(ok for ok, _ in results),
            "wall_s": round(wall, 3),
            **summary([ms for _, ms in results]),
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", type=int, default=50)
    parser.add_argument("--warm", type=int, default=2000)
    parser.add_argument("--concurrent", type=int, default=200)
    parser.add_argument("--cpu-limit", choices=["shares", "quota"], default=None)
    args = parser.parse_args()
    env = {"NIMBUS_CPU_LIMIT": args.cpu_limit} if args.cpu_limit else {}
    with running_server(env) as server:
        results: dict[str, object] = {"cpu_limit": args.cpu_limit or "server default"}
        results.update(cold_and_warm(server, args.cold, args.warm))
        if args.concurrent:
            results.update(asyncio.run(concurrent_cold(server, args.concurrent)))
    report("invoke_latency", results)


if __name__ == "__main__":
    main()
