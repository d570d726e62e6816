"""Route table: EventBridge Scheduler (botocore's ``scheduler`` 2021-06-30 model, restJson):
Create/Get/Update/Delete/ListSchedules, Create/Get/Delete/ListScheduleGroups, and the
tagging of schedule groups (Tag/Untag/ListTagsForResource). Lists page with
``MaxResults``/``NextToken``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from nimbus.errors import InvalidRequestContentError, ValidationError
from nimbus.frontend import next_token, params
from nimbus.frontend import scheduler_wire as wire
from nimbus.frontend.wire import json_response
from nimbus.model.schedule import (
    DEFAULT_GROUP,
    ScheduleConfig,
    ScheduleGroup,
    ScheduleSettings,
    ScheduleState,
)

MAX_BODY = 1024 * 1024
DEFAULT_PAGE = 100
T = TypeVar("T")


class ScheduleDirectory(Protocol):
    """``events.schedules.ScheduleService``: raises ValidationError (400),
    ResourceNotFoundError (404) and ConflictError (409) as AWS does."""

    def schedule_arn(self, group: str, name: str) -> str: ...

    def group_arn(self, name: str) -> str: ...

    async def create(self, group: str, name: str, settings: ScheduleSettings) -> str: ...

    async def update(self, group: str, name: str, settings: ScheduleSettings) -> str: ...

    def get(self, group: str, name: str) -> ScheduleConfig: ...

    async def delete(self, group: str, name: str) -> None: ...

    def list_schedules(
        self, *, group: str | None, prefix: str | None, state: ScheduleState | None
    ) -> list[ScheduleConfig]: ...

    async def create_group(self, name: str, tags: Sequence[tuple[str, str]] = ()) -> str: ...

    def get_group(self, name: str) -> ScheduleGroup: ...

    async def delete_group(self, name: str) -> None: ...

    def list_groups(self, *, prefix: str | None) -> list[ScheduleGroup]: ...

    async def tag_group(self, name: str, tags: Sequence[tuple[str, str]]) -> None: ...

    async def untag_group(self, name: str, keys: Sequence[str]) -> None: ...


async def _body(request: Request) -> dict[str, Any]:
    try:
        return await params.json_body(request, MAX_BODY)
    except InvalidRequestContentError as exc:
        raise ValidationError(exc.message) from None


def _query(request: Request, key: str) -> str | None:
    value = request.query_params.get(key)
    return value if value else None


def _limit(request: Request) -> int | None:
    text = request.query_params.get("MaxResults")
    if text is None:
        return None
    if not (text.isascii() and text.isdigit()):  # not "²", which int() refuses
        raise ValidationError(
            f"1 validation error detected: Value '{text}' at 'maxResults' failed to satisfy "
            "constraint: Member must be an integer between 1 and 100"
        )
    return wire.integer(int(text), "maxResults", low=1, high=100)


def _page(
    request: Request, items: Sequence[T], keys: Sequence[str]
) -> tuple[Sequence[T], str | None]:
    """The page of ``items`` (ascending ``keys``) the request's NextToken and MaxResults ask
    for, and the next page's token."""
    limit = _limit(request) or DEFAULT_PAGE
    try:
        chosen, following = next_token.page(keys, _query(request, "NextToken"), limit)
    except next_token.InvalidToken:
        raise ValidationError(
            "Invalid NextToken: pass the NextToken of the previous page as it was returned."
        ) from None
    return items[chosen], following


def _group_param(value: str | None, where: str) -> str:
    return DEFAULT_GROUP if value is None else wire.name(value, where)


class SchedulerApi:
    def __init__(self, *, schedules: ScheduleDirectory) -> None:
        self._schedules = schedules

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/schedules", self.list_schedules, methods=["GET"], name="ListSchedules"),
            Route(
                "/schedules/{name}", self.create_schedule, methods=["POST"], name="CreateSchedule"
            ),
            Route("/schedules/{name}", self.get_schedule, methods=["GET"], name="GetSchedule"),
            Route(
                "/schedules/{name}", self.update_schedule, methods=["PUT"], name="UpdateSchedule"
            ),
            Route(
                "/schedules/{name}", self.delete_schedule, methods=["DELETE"], name="DeleteSchedule"
            ),
            Route("/schedule-groups", self.list_groups, methods=["GET"], name="ListScheduleGroups"),
            Route(
                "/schedule-groups/{name}",
                self.create_group,
                methods=["POST"],
                name="CreateScheduleGroup",
            ),
            Route(
                "/schedule-groups/{name}",
                self.get_group,
                methods=["GET"],
                name="GetScheduleGroup",
            ),
            Route(
                "/schedule-groups/{name}",
                self.delete_group,
                methods=["DELETE"],
                name="DeleteScheduleGroup",
            ),
            Route("/tags/{arn:path}", self.list_tags, methods=["GET"], name="ListTagsForResource"),
            Route("/tags/{arn:path}", self.tag, methods=["POST"], name="TagResource"),
            Route("/tags/{arn:path}", self.untag, methods=["DELETE"], name="UntagResource"),
        ]

    # --- Schedules -----------------------------------------------------------------------------

    async def create_schedule(self, request: Request) -> Response:
        name = wire.name(request.path_params["name"])
        body = await _body(request)
        group = _group_param(body.get("GroupName"), "groupName")
        arn = await self._schedules.create(group, name, wire.settings(body))
        return json_response({"ScheduleArn": arn})

    async def update_schedule(self, request: Request) -> Response:
        name = wire.name(request.path_params["name"])
        body = await _body(request)
        group = _group_param(body.get("GroupName"), "groupName")
        arn = await self._schedules.update(group, name, wire.settings(body))
        return json_response({"ScheduleArn": arn})

    async def get_schedule(self, request: Request) -> Response:
        name = wire.name(request.path_params["name"])
        group = _group_param(_query(request, "groupName"), "groupName")
        schedule = self._schedules.get(group, name)
        return json_response(
            wire.schedule_shape(schedule, self._schedules.schedule_arn(group, name))
        )

    async def delete_schedule(self, request: Request) -> Response:
        name = wire.name(request.path_params["name"])
        group = _group_param(_query(request, "groupName"), "groupName")
        await self._schedules.delete(group, name)
        return json_response({})

    async def list_schedules(self, request: Request) -> Response:
        group = _query(request, "ScheduleGroup")
        prefix = _query(request, "NamePrefix")
        state = _query(request, "State")
        found = self._schedules.list_schedules(
            group=None if group is None else wire.name(group, "groupName"),
            prefix=None if prefix is None else wire.name(prefix, "namePrefix"),
            state=None if state is None else wire.one_of(state, "state", "ENABLED", "DISABLED"),  # type: ignore[arg-type]
        )
        keyed = sorted(((f"{s.group}/{s.name}", s) for s in found), key=lambda pair: pair[0])
        chosen, token = _page(request, [s for _, s in keyed], [k for k, _ in keyed])
        body: dict[str, Any] = {
            "Schedules": [
                wire.schedule_summary(s, self._schedules.schedule_arn(s.group, s.name))
                for s in chosen
            ]
        }
        if token is not None:
            body["NextToken"] = token
        return json_response(body)

    # --- Groups --------------------------------------------------------------------------------

    async def create_group(self, request: Request) -> Response:
        name = wire.name(request.path_params["name"])
        body = await _body(request)
        tags = [] if body.get("Tags") is None else wire.tags(body["Tags"])
        arn = await self._schedules.create_group(name, tags)
        return json_response({"ScheduleGroupArn": arn})

    async def get_group(self, request: Request) -> Response:
        name = wire.name(request.path_params["name"])
        group = self._schedules.get_group(name)
        return json_response(wire.group_shape(group, self._schedules.group_arn(name)))

    async def delete_group(self, request: Request) -> Response:
        await self._schedules.delete_group(wire.name(request.path_params["name"]))
        return json_response({})

    async def list_groups(self, request: Request) -> Response:
        prefix = _query(request, "NamePrefix")
        found = self._schedules.list_groups(
            prefix=None if prefix is None else wire.name(prefix, "namePrefix")
        )
        found = sorted(found, key=lambda g: g.name)
        chosen, token = _page(request, found, [g.name for g in found])
        body: dict[str, Any] = {
            "ScheduleGroups": [
                wire.group_shape(g, self._schedules.group_arn(g.name)) for g in chosen
            ]
        }
        if token is not None:
            body["NextToken"] = token
        return json_response(body)

    # --- Tags (schedule groups only, as the model's TagResourceArn) ---------------------------

    def _tagged_group(self, request: Request) -> str:
        arn = str(request.path_params["arn"])
        prefix = self._schedules.group_arn("")
        name = arn.removeprefix(prefix)
        if not arn.startswith(prefix) or not wire.NAME.fullmatch(name):
            raise ValidationError(
                f"1 validation error detected: Value '{arn}' at 'resourceArn' failed to "
                f"satisfy constraint: Member must be a schedule group's ARN ({prefix}<name>)"
            )
        return name

    async def list_tags(self, request: Request) -> Response:
        group = self._schedules.get_group(self._tagged_group(request))
        return json_response({"Tags": [{"Key": k, "Value": v} for k, v in group.tags]})

    async def tag(self, request: Request) -> Response:
        name = self._tagged_group(request)
        body = await _body(request)
        if body.get("Tags") is None:
            raise ValidationError(
                "1 validation error detected: Value null at 'tags' failed to satisfy "
                "constraint: Member must not be null"
            )
        await self._schedules.tag_group(name, wire.tags(body["Tags"]))
        return json_response({})

    async def untag(self, request: Request) -> Response:
        name = self._tagged_group(request)
        keys = request.query_params.getlist("TagKeys")
        await self._schedules.untag_group(name, keys)
        return json_response({})
