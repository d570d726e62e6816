"""EventBridge Scheduler's requests → the IAM action and resource the gate authorizes them on
(scheduler:<Operation> on schedule/<group>/<name> or schedule-group/<name>), the service
their signature must name, and no clash with Lambda's paths."""

from __future__ import annotations

import pytest

from nimbus.frontend.auth_gate import _expected_service
from nimbus.frontend.operations import OperationRequest, needs_body, resolve
from nimbus.model.arn import Arns

ARNS = Arns(region="eu-west-1", account="111122223333")
BASE = "arn:aws:scheduler:eu-west-1:111122223333"


@pytest.mark.parametrize(
    ("method", "path", "query", "body", "name", "resource"),
    [
        ("POST", "/schedules/s1", {}, {}, "CreateSchedule", f"{BASE}:schedule/default/s1"),
        ("POST", "/schedules/s1", {}, {"GroupName": "team"}, "CreateSchedule",
         f"{BASE}:schedule/team/s1"),
        ("PUT", "/schedules/s1", {}, {"GroupName": "team"}, "UpdateSchedule",
         f"{BASE}:schedule/team/s1"),
        ("GET", "/schedules/s1", {"groupName": "team"}, {}, "GetSchedule",
         f"{BASE}:schedule/team/s1"),
        ("HEAD", "/schedules/s1", {}, {}, "GetSchedule", f"{BASE}:schedule/default/s1"),
        ("DELETE", "/schedules/s1", {"groupName": "g"}, {}, "DeleteSchedule",
         f"{BASE}:schedule/g/s1"),
        ("GET", "/schedules", {}, {}, "ListSchedules", "*"),
        ("POST", "/schedule-groups/g", {}, {}, "CreateScheduleGroup", f"{BASE}:schedule-group/g"),
        ("GET", "/schedule-groups/g", {}, {}, "GetScheduleGroup", f"{BASE}:schedule-group/g"),
        ("DELETE", "/schedule-groups/g", {}, {}, "DeleteScheduleGroup",
         f"{BASE}:schedule-group/g"),
        ("GET", "/schedule-groups", {}, {}, "ListScheduleGroups", "*"),
        ("GET", f"/tags/{BASE}:schedule-group/g", {}, {}, "ListTagsForResource",
         f"{BASE}:schedule-group/g"),
        ("POST", f"/tags/{BASE}:schedule-group/g", {}, {}, "TagResource",
         f"{BASE}:schedule-group/g"),
    ],
)  # fmt: skip
def test_each_operation_is_authorized_on_its_resource(
    method: str, path: str, query: dict[str, str], body: dict[str, str], name: str, resource: str
) -> None:
    got = resolve(OperationRequest(method=method, path=path, query=query, params=body), ARNS)
    assert (got.service, got.name, got.action, got.resource) == (
        "scheduler",
        name,
        f"scheduler:{name}",
        resource,
    )
    assert _expected_service(path, "") == "scheduler"


def test_the_group_in_the_body_is_read_before_authorizing() -> None:
    assert needs_body("POST", "/schedules/s1")
    assert needs_body("PUT", "/schedules/s1")
    assert not needs_body("GET", "/schedules/s1")


@pytest.mark.parametrize(
    ("method", "path"),
    [("PATCH", "/schedules/s1"), ("PUT", "/schedule-groups/g"), ("GET", "/schedules/a/b")],
)
def test_unknown_scheduler_routes_have_no_action(method: str, path: str) -> None:
    got = resolve(OperationRequest(method=method, path=path), ARNS)
    assert got.action is None


def test_lambdas_paths_stay_lambdas() -> None:
    got = resolve(OperationRequest(method="GET", path="/2017-03-31/tags/arn:aws:lambda:x"), ARNS)
    assert got.service == "lambda"
    assert _expected_service("/2015-03-31/functions", "") == "lambda"
