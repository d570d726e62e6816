"""EventBridge Scheduler's route table (pure): which IAM action on which resource each
``scheduler`` request asks for, for the gate (``auth_gate``, through ``operations``).

Actions and resources as "Actions, resources, and condition keys for Amazon EventBridge
Scheduler": the action is ``scheduler:<Operation>``; a schedule is
``arn:aws:scheduler:<region>:<account>:schedule/<group>/<name>`` (the group is the body's
``GroupName`` for Create/UpdateSchedule, the ``groupName`` query parameter for Get/Delete,
``default`` when absent), a group ``...:schedule-group/<name>``; the listings are on ``*``;
the tagging operations on the ARN they name. The paths (``/schedules``,
``/schedule-groups``, ``/tags/``) are none of Lambda's (``/2015-03-31/...``,
``/2017-03-31/tags/...``). A path or method not in the table has no action.
"""

from __future__ import annotations

import re
from typing import Final

from nimbus.frontend.operation import ANY, Operation, OperationRequest
from nimbus.model.arn import Arns
from nimbus.model.schedule import DEFAULT_GROUP

_SEGMENT = "[^/]+"
# method, path pattern, operation, resource kind (schedule | group | tagged | any)
_TABLE: Final = (
    ("POST", "/schedules/{name}", "CreateSchedule", "schedule"),
    ("GET", "/schedules/{name}", "GetSchedule", "schedule"),
    ("PUT", "/schedules/{name}", "UpdateSchedule", "schedule"),
    ("DELETE", "/schedules/{name}", "DeleteSchedule", "schedule"),
    ("GET", "/schedules", "ListSchedules", "any"),
    ("POST", "/schedule-groups/{name}", "CreateScheduleGroup", "group"),
    ("GET", "/schedule-groups/{name}", "GetScheduleGroup", "group"),
    ("DELETE", "/schedule-groups/{name}", "DeleteScheduleGroup", "group"),
    ("GET", "/schedule-groups", "ListScheduleGroups", "any"),
    ("GET", "/tags/{arn}", "ListTagsForResource", "tagged"),
    ("POST", "/tags/{arn}", "TagResource", "tagged"),
    ("DELETE", "/tags/{arn}", "UntagResource", "tagged"),
)
_ROUTES: Final = tuple(
    (
        method,
        re.compile(
            "^"
            + path.replace("{name}", f"(?P<name>{_SEGMENT})").replace("{arn}", "(?P<arn>.+)")
            + "/?$"
        ),
        name,
        kind,
    )
    for method, path, name, kind in _TABLE
)
# Operations whose resource is in the JSON body (the gate parses it before authorizing).
_BODY_OPERATIONS: Final = frozenset({"CreateSchedule", "UpdateSchedule"})


def is_scheduler(path: str) -> bool:
    return path in ("/schedules", "/schedule-groups") or path.startswith(
        ("/schedules/", "/schedule-groups/", "/tags/")
    )


def _match(method: str, path: str) -> tuple[str, str, dict[str, str]] | None:
    method = "GET" if method == "HEAD" else method
    for verb, pattern, name, kind in _ROUTES:
        m = pattern.match(path)
        if verb == method and m is not None:
            return name, kind, m.groupdict()
    return None


def needs_body(method: str, path: str) -> bool:
    found = _match(method, path)
    return found is not None and found[0] in _BODY_OPERATIONS


def resolve_scheduler(request: OperationRequest, arns: Arns) -> Operation:
    """The Scheduler operation of a request on its paths (never raises)."""
    found = _match(request.method, request.path)
    if found is None:
        return Operation(service="scheduler", name="", action=None)
    name, kind, labels = found
    prefix = f"arn:aws:scheduler:{arns.region}:{arns.account}"
    resource = ANY
    if kind == "schedule":
        group = request.params.get("GroupName") if name in _BODY_OPERATIONS else None
        if name not in _BODY_OPERATIONS:
            group = request.query.get("groupName")
        if not isinstance(group, str) or not group:
            group = DEFAULT_GROUP
        resource = f"{prefix}:schedule/{group}/{labels['name']}"
    elif kind == "group":
        resource = f"{prefix}:schedule-group/{labels['name']}"
    elif kind == "tagged":
        resource = labels["arn"]
    return Operation(service="scheduler", name=name, action=f"scheduler:{name}", resource=resource)
