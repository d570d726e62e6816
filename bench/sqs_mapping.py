"""SQS event source mappings: how fast a queue drains into a function, and how long a message
waits between SendMessage and the handler starting.

1. Throughput: a backlog of messages is sent first, then a mapping is created to a no-op
   Python function (warmed beforehand); messages/s = backlog / time until the queue is empty
   (every batch invoked and deleted), for BatchSize 10 (AWS's default, no window) and
   BatchSize 100 with a 1 s window.
2. Latency: one message at a time, its body carrying the sender's clock just before
   SendMessage; the handler reads its own clock first thing and reports the difference to a
   second queue. The mapping's pollers are long-polling an empty queue, as they are when a
   queue is idle, so this is Lambda's "event source mapping delay" plus the invoke.

Every request is signed as the administrator (boto3). Loopback only, bounded time.

    python -m bench.sqs_mapping [--backlog 5000] [--samples 200]
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from bench.common import NOOP, report, running_server, summary
from nimbus.testing.archive import make_zip
from nimbus.testing.server import ROLE, NimbusServer

STAMPER = (
    "import json, os, time, boto3\n"
    "sqs = boto3.client('sqs')\n"
    "def handler(event, context):\n"
    "    started = time.time()\n"
    "    waits = [(started - json.loads(r['body'])['sent']) * 1000 for r in event['Records']]\n"
    "    sqs.send_message(QueueUrl=os.environ['REPORT_URL'], MessageBody=json.dumps(waits))\n"
)


def _queue(sqs: Any, name: str, **attributes: str) -> tuple[str, str]:
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, arn


def _function(lam: Any, name: str, source: str, role: str, **config: Any) -> None:
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": make_zip({"app.py": source})},
        Timeout=30,
        **config,
    )
    for _ in range(500):
        if lam.get_function_configuration(FunctionName=name)["State"] == "Active":
            break
        time.sleep(0.02)
    lam.invoke(FunctionName=name, Payload=b'{"Records": []}')  # warm: not a cold start


def _left(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[n]) for n in names)


def throughput(
    server: NimbusServer, backlog: int, batch_size: int, window_s: int
) -> dict[str, Any]:
    lam, sqs = server.client("lambda"), server.client("sqs")
    name = f"noop-{batch_size}"
    _function(lam, name, NOOP, ROLE)
    url, arn = _queue(sqs, f"backlog-{batch_size}", VisibilityTimeout="60")
    body = "x" * 100
    for start in range(0, backlog, 10):
        count = min(10, backlog - start)
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": body} for i in range(count)]
        )
    started = time.perf_counter()
    mapping = lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName=name,
        BatchSize=batch_size,
        MaximumBatchingWindowInSeconds=window_s,
    )
    deadline = started + 300
    while _left(sqs, url) > 0:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{_left(sqs, url)} messages left after 300 s")
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    with server.http() as http:  # the batches the function ran (the warm-up is one more)
        figures = http.get("/_nimbus/metrics").json()["Functions"][name]
    invokes = int(figures["Invocations"]) - 1
    return {
        "messages": backlog,
        "batch_size": batch_size,
        "window_s": window_s,
        "invocations": invokes,
        "mean_batch": round(backlog / max(1, invokes), 1),
        "seconds": round(elapsed, 2),
        "messages_per_s": round(backlog / elapsed, 1),
    }


def latency(server: NimbusServer, samples: int) -> dict[str, Any]:
    lam, sqs = server.client("lambda"), server.client("sqs")
    role = server.create_role("bench-stamper", ["sqs:SendMessage"])
    report_url, _ = _queue(sqs, "stamps")
    url, arn = _queue(sqs, "latency", VisibilityTimeout="60")
    _function(lam, "stamper", STAMPER, role, Environment={"Variables": {"REPORT_URL": report_url}})
    for _ in range(50):  # the warm-up invoke's report
        if sqs.receive_message(QueueUrl=report_url, WaitTimeSeconds=1).get("Messages"):
            break
    sqs.purge_queue(QueueUrl=report_url)
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName="stamper")
    time.sleep(1)  # the pollers are long-polling
    waits: list[float] = []
    deadline = time.perf_counter() + 120
    while len(waits) < samples and time.perf_counter() < deadline:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"sent": time.time()}))
        while True:
            got = sqs.receive_message(QueueUrl=report_url, WaitTimeSeconds=5).get("Messages")
            if got:
                break
        sqs.delete_message(QueueUrl=report_url, ReceiptHandle=got[0]["ReceiptHandle"])
        waits += json.loads(got[0]["Body"])
    lam.delete_event_source_mapping(UUID=mapping["UUID"])
    return {"send_to_handler_start": summary(waits)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backlog", type=int, default=5000, help="messages per throughput run")
    parser.add_argument("--samples", type=int, default=200, help="latency samples")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    with running_server() as server:
        results["throughput_batch_10"] = throughput(server, args.backlog, 10, 0)
    with running_server() as server:
        results["throughput_batch_100_window_1s"] = throughput(server, args.backlog, 100, 1)
    with running_server() as server:
        results["latency"] = latency(server, args.samples)
    report("SQS event source mapping: queue to function", results)


if __name__ == "__main__":
    main()
