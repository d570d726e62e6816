"""EventBridge Scheduler through boto3's ``scheduler`` client against the session's server:
schedules and groups, their errors and paging, and a rate schedule delivering its Input to a
queue (rate schedules without a StartDate fire at once, so this needs no wall-clock wait)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.auth.helpers import ACCOUNT, REGION, allow, client_as, unique, user_key
from tests.support import NimbusServer

ROLE = "arn:aws:iam::000000000000:role/scheduler"


@pytest.fixture(scope="module")
def scheduler(server: NimbusServer) -> Any:
    return server.client("scheduler")


@pytest.fixture(scope="module")
def queue(server: NimbusServer) -> tuple[Any, str, str]:
    sqs = server.client("sqs")
    url = sqs.create_queue(QueueName=f"sched-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return sqs, url, arn


def _name() -> str:
    return f"s-{uuid.uuid4().hex[:10]}"


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def _target(arn: str, **extra: Any) -> dict[str, Any]:
    return {"Arn": arn, "RoleArn": ROLE, **extra}


def test_schedule_lifecycle(scheduler: Any, queue: tuple[Any, str, str]) -> None:
    _, _, queue_arn = queue
    name = _name()
    created = scheduler.create_schedule(
        Name=name,
        ScheduleExpression="cron(0 9 ? * MON-FRI *)",
        ScheduleExpressionTimezone="Europe/Berlin",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10},
        Target=_target(queue_arn, Input="hello", RetryPolicy={"MaximumRetryAttempts": 3}),
        Description="weekdays",
        State="DISABLED",
    )
    arn = f"arn:aws:scheduler:us-east-1:000000000000:schedule/default/{name}"
    assert created["ScheduleArn"] == arn
    got = scheduler.get_schedule(Name=name)
    assert got["Arn"] == arn and got["GroupName"] == "default"
    assert got["ScheduleExpressionTimezone"] == "Europe/Berlin"
    assert got["FlexibleTimeWindow"] == {"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 10}
    assert got["Target"]["RetryPolicy"] == {
        "MaximumEventAgeInSeconds": 86400,
        "MaximumRetryAttempts": 3,
    }
    assert (got["State"], got["Description"], got["ActionAfterCompletion"]) == (
        "DISABLED",
        "weekdays",
        "NONE",
    )
    # UpdateSchedule replaces every setting: what it leaves out goes back to its default.
    scheduler.update_schedule(
        Name=name,
        ScheduleExpression="rate(1 day)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=_target(queue_arn),
        State="DISABLED",
    )
    got = scheduler.get_schedule(Name=name)
    assert got["ScheduleExpression"] == "rate(1 day)"
    assert "Description" not in got and "Input" not in got["Target"]
    assert got["LastModificationDate"] >= got["CreationDate"]
    scheduler.delete_schedule(Name=name)
    with pytest.raises(ClientError) as missing:
        scheduler.get_schedule(Name=name)
    assert _error(missing)[:2] == ("ResourceNotFoundException", 404)


def test_errors_are_the_models(scheduler: Any, queue: tuple[Any, str, str]) -> None:
    _, _, queue_arn = queue
    name = _name()
    base = {
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": _target(queue_arn),
        "State": "DISABLED",
    }
    scheduler.create_schedule(Name=name, ScheduleExpression="rate(1 hour)", **base)
    with pytest.raises(ClientError) as taken:
        scheduler.create_schedule(Name=name, ScheduleExpression="rate(1 hour)", **base)
    assert _error(taken) == ("ConflictException", 409, f"Schedule {name} already exists.")
    with pytest.raises(ClientError) as bad_cron:
        scheduler.create_schedule(Name=_name(), ScheduleExpression="cron(0 12 * * * *)", **base)
    code, status, message = _error(bad_cron)
    assert (code, status) == ("ValidationException", 400)
    assert "one of day-of-month and day-of-week must be '?'" in message
    with pytest.raises(ClientError) as bad_zone:
        scheduler.create_schedule(
            Name=_name(),
            ScheduleExpression="rate(1 hour)",
            ScheduleExpressionTimezone="Mars/Olympus",
            **base,
        )
    assert _error(bad_zone)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as no_group:
        scheduler.create_schedule(
            Name=_name(), GroupName="nope", ScheduleExpression="rate(1 hour)", **base
        )
    assert _error(no_group) == (
        "ResourceNotFoundException",
        404,
        "Schedule group nope does not exist.",
    )
    with pytest.raises(ClientError) as no_update:
        scheduler.update_schedule(Name=_name(), ScheduleExpression="rate(1 hour)", **base)
    assert _error(no_update)[:2] == ("ResourceNotFoundException", 404)
    scheduler.delete_schedule(Name=name)


def test_malformed_bodies_get_a_validation_error_not_a_crash(server: NimbusServer) -> None:
    with server.http("scheduler") as http:
        for body in (b"{not json", b"[1, 2]", b'{"ScheduleExpression": 7}'):
            response = http.post(f"/schedules/{_name()}", content=body)
            assert response.status_code == 400, response.text
            assert response.headers["x-amzn-errortype"] == "ValidationException"
        response = http.get("/schedules", params={"MaxResults": "many"})
        assert response.status_code == 400
        assert response.headers["x-amzn-errortype"] == "ValidationException"


def test_groups_and_their_schedules(scheduler: Any, queue: tuple[Any, str, str]) -> None:
    _, _, queue_arn = queue
    default = scheduler.get_schedule_group(Name="default")
    assert (default["Name"], default["State"]) == ("default", "ACTIVE")
    group = f"g-{uuid.uuid4().hex[:8]}"
    arn = scheduler.create_schedule_group(Name=group, Tags=[{"Key": "team", "Value": "a"}])[
        "ScheduleGroupArn"
    ]
    assert arn == f"arn:aws:scheduler:us-east-1:000000000000:schedule-group/{group}"
    with pytest.raises(ClientError) as taken:
        scheduler.create_schedule_group(Name=group)
    assert _error(taken)[:2] == ("ConflictException", 409)
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "team", "Value": "a"}
    ]
    scheduler.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "dev"}])
    scheduler.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert scheduler.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "env", "Value": "dev"}
    ]
    names = [g["Name"] for g in scheduler.list_schedule_groups(NamePrefix=group)["ScheduleGroups"]]
    assert names == [group]
    # The same schedule name in two groups names two schedules.
    name = _name()
    for in_group in (group, "default"):
        scheduler.create_schedule(
            Name=name,
            GroupName=in_group,
            ScheduleExpression="rate(1 hour)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target=_target(queue_arn),
            State="DISABLED",
        )
    assert scheduler.get_schedule(Name=name, GroupName=group)["GroupName"] == group
    # Deleting a group deletes its schedules; the default group cannot be deleted.
    scheduler.delete_schedule_group(Name=group)
    with pytest.raises(ClientError) as gone:
        scheduler.get_schedule(Name=name, GroupName=group)
    assert _error(gone)[:2] == ("ResourceNotFoundException", 404)
    assert scheduler.get_schedule(Name=name)["Name"] == name
    with pytest.raises(ClientError) as kept:
        scheduler.delete_schedule_group(Name="default")
    assert _error(kept)[:2] == ("ValidationException", 400)
    scheduler.delete_schedule(Name=name)


def test_list_schedules_pages_and_filters(scheduler: Any, queue: tuple[Any, str, str]) -> None:
    _, _, queue_arn = queue
    group = f"p-{uuid.uuid4().hex[:8]}"
    scheduler.create_schedule_group(Name=group)
    names = sorted(f"n{i}" for i in range(5))
    for i, name in enumerate(names):
        scheduler.create_schedule(
            Name=name,
            GroupName=group,
            ScheduleExpression="rate(1 day)",
            FlexibleTimeWindow={"Mode": "OFF"},
            Target=_target(queue_arn),
            State="ENABLED" if i % 2 else "DISABLED",
        )
    pages = scheduler.get_paginator("list_schedules").paginate(
        GroupName=group, PaginationConfig={"PageSize": 2}
    )
    seen = [[s["Name"] for s in page["Schedules"]] for page in pages]
    assert seen == [names[0:2], names[2:4], names[4:]]
    enabled = scheduler.list_schedules(GroupName=group, State="ENABLED")["Schedules"]
    assert [s["Name"] for s in enabled] == [names[1], names[3]]
    assert enabled[0]["Target"] == {"Arn": queue_arn}
    prefixed = scheduler.list_schedules(GroupName=group, NamePrefix="n3")["Schedules"]
    assert [s["Name"] for s in prefixed] == ["n3"]
    with pytest.raises(ClientError) as no_group:
        scheduler.list_schedules(GroupName="missing-group")
    assert _error(no_group)[:2] == ("ResourceNotFoundException", 404)
    scheduler.delete_schedule_group(Name=group)


def test_a_rate_schedule_sends_its_input_as_is(scheduler: Any, queue: tuple[Any, str, str]) -> None:
    sqs, url, queue_arn = queue
    name = _name()
    # No StartDate: a rate schedule starts invoking at once (then every hour, here).
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=_target(queue_arn, Input='{"job": "report"}'),
    )
    bodies: list[str] = []
    deadline = time.monotonic() + 15
    while not bodies and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)
        bodies += [m["Body"] for m in got.get("Messages", [])]
    scheduler.delete_schedule(Name=name)
    assert bodies == ['{"job": "report"}']


def test_creating_a_schedule_needs_pass_role_and_what_its_target_does(
    server: NimbusServer, scheduler: Any, queue: tuple[Any, str, str]
) -> None:
    """Nimbus delivers ticks as itself, not as Target.RoleArn: the caller must be allowed to
    pass the role to Scheduler and to send where the role would — else being allowed
    scheduler:CreateSchedule would reach every queue and function."""
    _, _, queue_arn = queue
    schedules = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/default/*"
    create = ("scheduler:CreateSchedule", schedules)
    args: dict[str, Any] = {
        "ScheduleExpression": "rate(1 day)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "DISABLED",
    }

    def refused(key: dict[str, Any], target: dict[str, Any]) -> str:
        name = _name()
        with pytest.raises(ClientError) as denied:
            client_as(server, "scheduler", key).create_schedule(Name=name, Target=target, **args)
        code, _, message = _error(denied)
        assert code == "AccessDeniedException"
        with pytest.raises(ClientError):  # nothing was created
            scheduler.get_schedule(Name=name)
        return message

    only_create = user_key(server, unique("dev"), allow(create))
    assert f"iam:PassRole on resource: {ROLE}" in refused(only_create, _target(queue_arn))
    no_send = user_key(server, unique("dev"), allow(create, ("iam:PassRole", ROLE)))
    assert f"sqs:SendMessage on resource: {queue_arn}" in refused(no_send, _target(queue_arn))
    allowed = user_key(
        server, unique("dev"), allow(create, ("iam:PassRole", ROLE), ("sqs:SendMessage", queue_arn))
    )
    # Another partition names the same queue to delivery: it is authorized as that queue.
    elsewhere = _target(
        queue_arn.replace("arn:aws:", "arn:aws-x:"),
        DeadLetterConfig={"Arn": queue_arn.replace("arn:aws:", "arn:aws-x:")},
    )
    name = _name()
    with pytest.raises(ClientError) as other_partition:
        client_as(server, "scheduler", allowed).create_schedule(Name=name, Target=elsewhere, **args)
    assert _error(other_partition)[:2] == ("ValidationException", 400)
    assert "partition aws" in _error(other_partition)[2]
    client_as(server, "scheduler", allowed).create_schedule(
        Name=name, Target=_target(queue_arn), **args
    )
    scheduler.delete_schedule(Name=name)
