"""Shared pieces of the benchmarks: a real server, deploying functions, and reporting."""

from __future__ import annotations

import base64
import json
import statistics
import sys
from collections.abc import Sequence
from typing import Any

import httpx

from tests.support import ROLE, make_zip

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
        import time

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
