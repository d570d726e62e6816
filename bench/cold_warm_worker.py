"""Cold start (create_environment + first invoke) and warm invoke latency, measured directly
against LocalWorkerHost (no HTTP). Prints a table and a JSON line.

    python bench/cold_warm_worker.py [--cold 50] [--warm 2000] [--isolation auto] [--memory 1769]
        [--network host|isolated] [--burst 0]

--network isolated gives each namespaces sandbox its own network namespace (as a server does
by default as root); --burst N also times N cold starts at once (the namespace pool empties).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from nimbus.clock import SystemClock
from nimbus.model.invocation import EnvironmentSpec, InvocationRequest, LogEvent
from nimbus.worker.environment import LocalEnvironment
from nimbus.worker.host import LocalWorkerHost
from nimbus.worker.sandbox.network_policy import NetworkOptions

HANDLER = "def handler(event, context):\n    return event\n"


class NullSink:
    def emit(self, events: Sequence[LogEvent]) -> None:
        pass


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def request(spec: EnvironmentSpec) -> InvocationRequest:
    return InvocationRequest(
        request_id=str(uuid.uuid4()),
        payload=b'{"hello": "world"}',
        invoked_function_arn=spec.function_arn,
        deadline_ms=int(time.time() * 1000) + spec.timeout_s * 1000,
    )


async def run(
    cold: int,
    warm: int,
    isolation: str,
    pause_ms: float,
    memory_mb: int,
    network: str = "host",
    burst: int = 0,
) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        (code / "app.py").write_text(HANDLER)
        code.chmod(0o755)
        (code / "app.py").chmod(0o644)
        host = LocalWorkerHost(
            data_dir=Path(tmp) / "data",
            log_sink=NullSink(),
            clock=SystemClock(),
            isolation=isolation,
            network=NetworkOptions(api_host="127.0.0.1", api_port=9)
            if network == "isolated"
            else None,
        )
        await host.start()
        await asyncio.sleep(0.2)
        spec = EnvironmentSpec(
            function_name="bench",
            function_version="$LATEST",
            function_arn="arn:aws:lambda:us-east-1:000000000000:function:bench",
            runtime="python3.11",
            handler="app.handler",
            code_dir=code,
            memory_mb=memory_mb,
        )
        cold_ms: list[float] = []
        init_ms: list[float] = []
        for _ in range(cold):
            started = time.perf_counter()
            env = await host.create_environment(spec)
            result = await env.invoke(request(spec))
            cold_ms.append((time.perf_counter() - started) * 1000)
            init_ms.append(result.init_duration_ms or 0.0)
            assert result.function_error is None, result.payload
            await env.destroy()
            await asyncio.sleep(pause_ms / 1000)
        burst_ms: list[float] = []
        if burst:

            async def one() -> LocalEnvironment:
                started = time.perf_counter()
                env = await host.create_environment(spec)
                await env.invoke(request(spec))
                burst_ms.append((time.perf_counter() - started) * 1000)
                return env

            for env in await asyncio.gather(*(one() for _ in range(burst))):
                await env.destroy()
            await asyncio.sleep(0.5)
        env = await host.create_environment(spec)
        warm_ms: list[float] = []
        for _ in range(warm):
            started = time.perf_counter()
            result = await env.invoke(request(spec))
            warm_ms.append((time.perf_counter() - started) * 1000)
        await host.close()
        return {
            "isolation": host.isolation,
            "memory_mb": memory_mb,
            "cold_n": cold,
            "cold_p50_ms": round(statistics.median(cold_ms), 3),
            "cold_p99_ms": round(pct(cold_ms, 99), 3),
            "init_p50_ms": round(statistics.median(init_ms), 3),
            "warm_n": warm,
            "warm_p50_ms": round(statistics.median(warm_ms), 3),
            "warm_p99_ms": round(pct(warm_ms, 99), 3),
            "network": network,
            "burst_n": burst,
            "burst_p50_ms": round(statistics.median(burst_ms), 3) if burst_ms else 0,
            "burst_max_ms": round(max(burst_ms), 3) if burst_ms else 0,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", type=int, default=50)
    parser.add_argument("--warm", type=int, default=2000)
    parser.add_argument("--isolation", default="auto")
    parser.add_argument(
        "--pause-ms",
        type=float,
        default=20.0,
        help="idle time between cold starts (lets pre-forked sandboxes refill)",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=1769,
        help="MemorySize; CPU quota is proportional (1769 MB = 1 vCPU)",
    )
    parser.add_argument("--network", default="host", choices=("host", "isolated"))
    parser.add_argument("--burst", type=int, default=0, help="concurrent cold starts to time")
    args = parser.parse_args()
    stats = asyncio.run(
        run(
            args.cold,
            args.warm,
            args.isolation,
            args.pause_ms,
            args.memory,
            args.network,
            args.burst,
        )
    )
    print(f"{'metric':<14}{'value':>12}")
    for key, value in stats.items():
        print(f"{key:<14}{value!s:>12}")
    print(json.dumps(stats))


if __name__ == "__main__":
    main()
