"""Built-in queue round trips: SendMessage + ReceiveMessage + DeleteMessage per message.

1. One message per call, driven by `wrk` (a C client, so the client is not the bottleneck)
   with bench/sqs_roundtrip.lua: 32 connections rotate send, receive and delete (each
   delete uses a receipt handle its thread received); messages/s = completed deletes / time.
2. Batches of ten (SendMessageBatch, ReceiveMessage MaxNumberOfMessages=10,
   DeleteMessageBatch), from client processes running concurrent asyncio loops with httpx,
   each loop on its own queue, with round-trip latencies.

Every request is signed as the administrator: httpx signs each; wrk, which cannot, sends
headers presigned here for each operation with X-Amz-Content-SHA256: UNSIGNED-PAYLOAD (the
signature then covers the headers, not the bodies, which change with every receipt handle).

Bounded time, loopback only; every send is durable before it is answered.

    python -m bench.sqs_roundtrip [--duration 5] [--clients 2] [--loops 16]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bench.common import admin_auth, presigned_headers, report, run_wrk, running_server, summary
from nimbus.testing.server import NimbusServer

WRK_OPERATIONS = ("SendMessage", "ReceiveMessage", "DeleteMessage")
JSON_1_0 = "application/x-amz-json-1.0"


async def _call(client: httpx.AsyncClient, op: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(
        "/",
        json=body,
        headers={
            "X-Amz-Target": f"AmazonSQS.{op}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    response.raise_for_status()
    result: dict[str, Any] = response.json()
    return result


async def _loop(
    client: httpx.AsyncClient, name: str, deadline: float, batch: int
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    done = 0
    queue = (await _call(client, "CreateQueue", {"QueueName": name}))["QueueUrl"]
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        if batch == 1:
            await _call(client, "SendMessage", {"QueueUrl": queue, "MessageBody": "x" * 100})
        else:
            entries = [{"Id": str(i), "MessageBody": "x" * 100} for i in range(batch)]
            await _call(client, "SendMessageBatch", {"QueueUrl": queue, "Entries": entries})
        got: list[dict[str, Any]] = []
        while len(got) < batch:
            page = await _call(
                client,
                "ReceiveMessage",
                {"QueueUrl": queue, "MaxNumberOfMessages": batch, "WaitTimeSeconds": 1},
            )
            got += page.get("Messages", [])
        if batch == 1:
            receipt = got[0]["ReceiptHandle"]
            await _call(client, "DeleteMessage", {"QueueUrl": queue, "ReceiptHandle": receipt})
        else:
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)
            ]
            await _call(client, "DeleteMessageBatch", {"QueueUrl": queue, "Entries": entries})
        latencies.append((time.perf_counter() - started) * 1000)
        done += len(got)
    return done, latencies


async def _process(url: str, index: int, duration: float, batch: int, loops: int) -> Any:
    limits = httpx.Limits(max_connections=loops, max_keepalive_connections=loops)
    async with httpx.AsyncClient(
        base_url=url, timeout=30, limits=limits, auth=admin_auth("sqs")
    ) as client:
        deadline = time.perf_counter() + duration
        return await asyncio.gather(
            *(_loop(client, f"bench-{batch}-{index}-{n}", deadline, batch) for n in range(loops))
        )


def _client(args: tuple[str, int, float, int, int]) -> tuple[int, list[float]]:
    results = asyncio.run(_process(*args))
    return sum(r[0] for r in results), [ms for r in results for ms in r[1]]


def run(url: str, duration: float, clients: int, batch: int, loops: int) -> dict[str, Any]:
    with multiprocessing.Pool(clients) as pool:
        started = time.perf_counter()
        results = pool.map(_client, [(url, i, duration, batch, loops) for i in range(clients)])
        wall = time.perf_counter() - started
    messages = sum(done for done, _ in results)
    latencies = [ms for _, values in results for ms in values]
    return {
        "concurrent_loops": clients * loops,
        "batch": batch,
        "messages": messages,
        "messages_per_s": round(messages / wall, 1),
        "round_trip": summary(latencies),
    }


def wrk_single(server: NimbusServer, duration: float, connections: int) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        return {"wrk": "not installed"}
    url = server.url
    with server.http("sqs", timeout=30) as client:
        response = client.post(
            "/",
            json={"QueueName": "bench-wrk"},
            headers={"X-Amz-Target": "AmazonSQS.CreateQueue"},
        )
        queue = response.json()["QueueUrl"]
    # Presigned per operation (bench/sqs_roundtrip.lua adds them), valid five minutes.
    env = {"SQS_QUEUE_URL": queue, "SQS_HOST": f"127.0.0.1:{server.port}"}
    for op in WRK_OPERATIONS:
        headers = {"X-Amz-Target": f"AmazonSQS.{op}", "Content-Type": JSON_1_0}
        signed = presigned_headers(
            server, "POST", "/", headers, service="sqs", unsigned_payload=True
        )
        env[f"SQS_AUTH_{op}"] = signed["Authorization"]
        env[f"SQS_DATE_{op}"] = signed["X-Amz-Date"]
    result = run_wrk(
        f"{url}/",
        script=Path(__file__).with_name("sqs_roundtrip.lua"),
        connections=connections,
        duration_s=duration,
        env=env,
    )
    assert result is not None
    out = result.output
    found = re.search(r"ROUNDTRIP sends=(\d+) deletes=(\d+) duration_us=(\d+)", out)
    if found is None:
        return {"wrk_output": out[-500:]}
    sends, deletes, micros = (int(g) for g in found.groups())
    return {
        "connections": connections,
        "sends": sends,
        "deletes": deletes,
        "messages_per_s": round(deletes / (micros / 1e6), 1),
        "requests_per_s": result.requests_per_s,
        "request_p50_ms": result.p50_ms,
        "request_p99_ms": result.p99_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--loops", type=int, default=16, help="concurrent loops per process")
    args = parser.parse_args()
    modes: dict[str, Callable[[NimbusServer], dict[str, Any]]] = {
        "single_messages_wrk": lambda server: wrk_single(server, args.duration, 32),
        "batches_of_10": lambda server: run(
            server.url, args.duration, args.clients, 10, args.loops
        ),
    }
    results = {}
    for label, mode in modes.items():  # a fresh server (and store) for each mode
        with running_server() as server:
            results[label] = mode(server)
    report("SQS send + receive + delete round trips", results)


if __name__ == "__main__":
    main()
