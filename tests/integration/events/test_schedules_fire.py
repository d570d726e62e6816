"""The one wall-clock test of the timer: schedules that fire into a function on the real
clock, all sharing one ~65 s wait (this is the suite's only planned slow test; add to the
same wait rather than adding another).

- EventBridge Scheduler: a one-time ``at()`` schedule one minute away, with
  ``ActionAfterCompletion`` DELETE, fires exactly once — asynchronously, so the function's
  OnSuccess destination records the invocation with the schedule's Input as its payload —
  and then deletes itself.
- EventBridge rules: a ``rate(1 minute)`` rule on the default bus sends its queue target
  AWS's ``Scheduled Event`` once, a minute after PutRule (the next tick is after the wait).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer

ROLE = "arn:aws:iam::000000000000:role/scheduler"
HANDLER = "def handler(event, context):\n    return {'got': event}\n"
WAIT_S = 60  # the at() is this far away
SETTLE_S = 5  # after it: time for the async invoke, its destination, and a duplicate to show


@pytest.mark.slow
@pytest.mark.timeout(WAIT_S + 120)
def test_schedules_fire_on_the_wall_clock(server: NimbusServer, lam: Any, fname: str) -> None:
    scheduler, sqs = server.client("scheduler"), server.client("sqs")
    url = sqs.create_queue(QueueName=f"fired-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    function_arn = deploy(lam, fname, HANDLER)["FunctionArn"]
    lam.put_function_event_invoke_config(
        FunctionName=fname, DestinationConfig={"OnSuccess": {"Destination": queue_arn}}
    )
    events = server.client("events")
    rule_url = sqs.create_queue(QueueName=f"rule-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    rule_queue = sqs.get_queue_attributes(QueueUrl=rule_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    rule_name = f"every-minute-{uuid.uuid4().hex[:8]}"
    rule_arn = events.put_rule(Name=rule_name, ScheduleExpression="rate(1 minute)")["RuleArn"]
    events.put_targets(Rule=rule_name, Targets=[{"Id": "queue", "Arn": rule_queue}])
    due = int(time.time()) + WAIT_S
    at = datetime.fromtimestamp(due, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    name = f"once-{uuid.uuid4().hex[:8]}"
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=f"at({at})",
        ScheduleExpressionTimezone="UTC",
        FlexibleTimeWindow={"Mode": "OFF"},
        ActionAfterCompletion="DELETE",
        Target={"Arn": function_arn, "RoleArn": ROLE, "Input": '{"from": "scheduler"}'},
    )

    records: list[dict[str, Any]] = []
    ticks: list[dict[str, Any]] = []
    while time.time() < due + SETTLE_S:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1, MaxNumberOfMessages=10)
        records += [json.loads(m["Body"]) for m in got.get("Messages", [])]
        fired = sqs.receive_message(QueueUrl=rule_url, WaitTimeSeconds=0, MaxNumberOfMessages=10)
        ticks += [json.loads(m["Body"]) for m in fired.get("Messages", [])]
    events.remove_targets(Rule=rule_name, Ids=["queue"])
    events.delete_rule(Name=rule_name)

    # The rule: one Scheduled Event, AWS's envelope, a minute after PutRule.
    assert len(ticks) == 1, ticks
    assert (ticks[0]["source"], ticks[0]["detail-type"]) == ("aws.events", "Scheduled Event")
    assert ticks[0]["resources"] == [rule_arn] and ticks[0]["detail"] == {}
    assert datetime.fromisoformat(ticks[0]["time"].replace("Z", "+00:00")).timestamp() >= (
        due - WAIT_S + 55
    )

    # Exactly once, not before its time, with the Input as the event itself (no envelope).
    assert len(records) == 1, records
    record = records[0]
    assert record["requestPayload"] == {"from": "scheduler"}
    assert record["responsePayload"] == {"got": {"from": "scheduler"}}
    assert datetime.fromisoformat(record["timestamp"].replace("Z", "+00:00")).timestamp() >= due
    # ...and, its one invocation done, it deleted itself.
    with pytest.raises(ClientError) as gone:
        scheduler.get_schedule(Name=name)
    assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
