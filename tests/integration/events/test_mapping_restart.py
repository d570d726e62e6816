"""End to end: a node stopped in the middle of an SQS mapping's backlog and started again on
the same data directory. The mapping resumes by itself; every message reaches the function,
and none whose batch succeeded before the stop is delivered again (a graceful stop lets the
batches being invoked finish and be deleted)."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import NimbusServer, create_function, make_zip, settle

# Reports each batch's bodies to the queue named by REPORT_URL, then works a while: a batch
# being invoked when the node is told to stop has been seen, and must still be deleted.
SLOW_REPORTER = make_zip(
    {
        "app.py": (
            "import json, os, time, boto3\n"
            "sqs = boto3.client('sqs')\n"
            "def handler(event, context):\n"
            "    sqs.send_message(QueueUrl=os.environ['REPORT_URL'], MessageBody=json.dumps(\n"
            "        [r['body'] for r in event['Records']]))\n"
            "    time.sleep(1)\n"
        )
    }
)
BACKLOG = 20


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    """A server of this module's own: the test stops and restarts it."""
    data: Path = tmp_path_factory.mktemp("restart") / "data"
    with NimbusServer(data_dir=data) as instance:
        yield instance


def reported(sqs: Any, url: str) -> list[str]:
    """Every body reported so far (the reports received and deleted)."""
    bodies: list[str] = []
    while True:
        page = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not page:
            return bodies
        for message in page:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            bodies += json.loads(message["Body"])


def test_a_restart_mid_backlog_loses_nothing_and_repeats_no_success(node: NimbusServer) -> None:
    lam, sqs = node.client("lambda"), node.client("sqs")
    role = node.create_role(f"restart-{uuid.uuid4().hex[:8]}", ["sqs:SendMessage"])
    report_url = sqs.create_queue(QueueName="reports")["QueueUrl"]
    # A short visibility timeout: a batch cut short by the stop comes back soon after it.
    url = sqs.create_queue(QueueName="backlog", Attributes={"VisibilityTimeout": "3"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    create_function(
        lam,
        "worker",
        code=SLOW_REPORTER,
        Role=role,
        Timeout=3,
        Environment={"Variables": {"REPORT_URL": report_url}},
    )
    settle(lam, "worker")
    for start in range(0, BACKLOG, 10):
        sqs.send_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(start, start + 10)],
        )
    lam.create_event_source_mapping(
        EventSourceArn=arn,
        FunctionName="worker",
        BatchSize=4,
        ScalingConfig={"MaximumConcurrency": 2},
    )
    before: list[str] = []
    deadline = time.monotonic() + 30
    while len(before) < 4:  # a batch or two under way, most of the backlog still waiting
        assert time.monotonic() < deadline, before
        before += reported(sqs, report_url)
        time.sleep(0.05)

    node.stop()  # SIGTERM: the node closes gracefully
    node.start()
    lam, sqs = node.client("lambda"), node.client("sqs")
    [mapping] = lam.list_event_source_mappings(FunctionName="worker")["EventSourceMappings"]
    assert mapping["State"] == "Enabled"

    after: list[str] = []
    deadline = time.monotonic() + 40
    while set(before) | set(after) != {f"m{i}" for i in range(BACKLOG)}:
        assert time.monotonic() < deadline, (sorted(before), sorted(after))
        after += reported(sqs, report_url)
        time.sleep(0.1)
    assert len(before) < BACKLOG  # the stop really came in the middle of the backlog
    # Nothing delivered before the stop comes again, and nothing twice after it.
    assert not set(before) & set(after), sorted(set(before) & set(after))
    assert [body for body, n in Counter(before + after).items() if n > 1] == []
