"""What the event tests share: new queues, and a function's figures from the node's
metrics."""

from __future__ import annotations

import time
import uuid
from typing import Any

from tests.support import NimbusServer


def new_queue(sqs: Any, **attributes: str) -> tuple[str, str]:
    """(URL, ARN) of a new queue."""
    url: str = sqs.create_queue(QueueName=f"q-{uuid.uuid4().hex[:12]}", Attributes=attributes)[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return url, str(arn)


def metrics(server: NimbusServer, name: str) -> dict[str, Any]:
    """The function's figures from the node's metrics (a signed request: auth is on)."""
    with server.http() as http:
        functions = http.get("/_nimbus/metrics").json()["Functions"]
    found: dict[str, Any] = functions.get(name, {})  # none until its first invocation
    return found


def wait_for(server: NimbusServer, name: str, key: str, value: int, timeout: float) -> None:
    """Until the function's figure ``key`` reaches ``value``, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while metrics(server, name).get(key, 0) < value:
        assert time.monotonic() < deadline, metrics(server, name)
        time.sleep(0.2)
