"""Accepted asynchronous invokes (202s) per second with 32 concurrent clients.

`wrk` (a C client, not the bottleneck) POSTs InvocationType=Event invokes of a no-op function
for a bounded time over loopback; every 202 is a committed row in the event queue. The
pollers run the events at the same time, on the same machine. Afterwards the server is asked
how many events are still queued, and the number of distinct accepted events is checked
against the store.

Two runs: with the default poller pool (events are invoked while they are accepted, so both
share this machine's cores) and with a single poller (what the accept path alone sustains).

    python -m bench.async_accept [--duration 5] [--connections 32]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import httpx

from bench.common import deploy, report
from bench.throughput import _wrk_latency_ms
from tests.support import NimbusServer

LUA = """
wrk.method = "POST"
wrk.body = '{"bench": true}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Amz-Invocation-Type"] = "Event"
"""


def run(server: NimbusServer, duration: int, connections: int) -> dict[str, object]:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        deploy(client, "noop")
        for _ in range(50):  # warm-up
            response = client.post(
                "/2015-03-31/functions/noop/invocations",
                content=b"{}",
                headers={"X-Amz-Invocation-Type": "Event"},
            )
            assert response.status_code == 202, response.text
    if shutil.which("wrk") is None:
        return {"wrk": "not installed"}
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
    with sqlite3.connect(server.data_dir / "nimbus.db") as db:
        queued = db.execute("select count(*) from async_events").fetchone()[0]
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "async_accept_wrk": {
            "connections": connections,
            "duration_s": duration,
            "requests": int(total.group(1)) if total else 0,
            "accepted_per_s": float(rate.group(1)) if rate else 0.0,
            "non_2xx": int(errors.group(1)) if errors else 0,
            "still_queued_at_end": queued,
            "p50_ms": _wrk_latency_ms(out, "50%"),
            "p99_ms": _wrk_latency_ms(out, "99%"),
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    results: dict[str, object] = {}
    for label, pollers in (("default_pollers", "64"), ("single_poller", "1")):
        with tempfile.TemporaryDirectory() as tmp:
            server = NimbusServer(
                data_dir=Path(tmp) / "data",
                env={"NIMBUS_LOG_LEVEL": "warning", "NIMBUS_ASYNC_CONCURRENCY": pollers},
            )
            server.start()
            try:
                for key, value in run(server, args.duration, args.connections).items():
                    results[f"{key}_{label}"] = value
            finally:
                server.stop()
    report("async accept (InvocationType=Event -> 202)", results)


if __name__ == "__main__":
    main()
