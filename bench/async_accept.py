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
import sqlite3

from bench.common import deploy, presigned_headers, report, run_wrk, running_server, wrk_script
from nimbus.testing.server import NimbusServer

BODY = b'{"bench": true}'
HEADERS = {"Content-Type": "application/json", "X-Amz-Invocation-Type": "Event"}


def run(server: NimbusServer, duration: int, connections: int) -> dict[str, object]:
    path = "/2015-03-31/functions/noop/invocations"
    with server.http(timeout=60) as client:
        deploy(client, "noop")
        for _ in range(50):  # warm-up
            response = client.post(
                "/2015-03-31/functions/noop/invocations",
                content=b"{}",
                headers={"X-Amz-Invocation-Type": "Event"},
            )
            assert response.status_code == 202, response.text
    # wrk cannot sign: the one request it repeats is signed here (valid five minutes).
    headers = presigned_headers(server, "POST", path, HEADERS, BODY)
    result = run_wrk(
        f"{server.url}{path}",
        script=wrk_script("POST", BODY, headers),
        connections=connections,
        duration_s=duration,
    )
    if result is None:
        return {"wrk": "not installed"}
    with sqlite3.connect(server.data_dir / "nimbus.db") as db:
        queued = db.execute("select count(*) from async_events").fetchone()[0]
    return {
        "async_accept_wrk": {
            "connections": connections,
            "duration_s": duration,
            "requests": result.requests,
            "accepted_per_s": result.requests_per_s,
            "non_2xx": result.non_2xx,
            "still_queued_at_end": queued,
            "p50_ms": result.p50_ms,
            "p99_ms": result.p99_ms,
        }
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    results: dict[str, object] = {}
    for label, pollers in (("default_pollers", "64"), ("single_poller", "1")):
        with running_server({"NIMBUS_ASYNC_CONCURRENCY": pollers}) as server:
            for key, value in run(server, args.duration, args.connections).items():
                results[f"{key}_{label}"] = value
    report("async accept (InvocationType=Event -> 202)", results)


if __name__ == "__main__":
    main()
