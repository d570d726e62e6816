"""Scheduler's listings as the API pages them (the service lists, ``next_token`` pages), and
their query parameters refused with a ValidationException, never a crash."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from starlette.requests import Request

from nimbus.errors import ValidationError
from nimbus.frontend.scheduler_api import SchedulerApi
from nimbus.model.schedule import ScheduleGroup

GROUPS = [ScheduleGroup(name=n, created=0.0, modified=0.0) for n in ("c", "a", "b", "d", "e")]


class Directory:
    def group_arn(self, name: str) -> str:
        return f"arn:aws:scheduler:us-east-1:000000000000:schedule-group/{name}"

    def list_groups(self, *, prefix: str | None) -> list[ScheduleGroup]:
        return [g for g in GROUPS if prefix is None or g.name.startswith(prefix)]


def _request(query: Sequence[tuple[str, str]]) -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/schedule-groups",
            "query_string": urlencode(query).encode(),
            "headers": [],
        }
    )


async def _list(query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    api = SchedulerApi(schedules=Directory())  # type: ignore[arg-type]
    response = await api.list_groups(_request(query))
    body: dict[str, Any] = orjson.loads(bytes(response.body))
    return body


async def test_groups_page_by_name_to_the_end() -> None:
    seen, token = [], None
    while True:
        query = [("MaxResults", "2")] + ([("NextToken", token)] if token else [])
        body = await _list(query)
        seen += [g["Name"] for g in body["ScheduleGroups"]]
        token = body.get("NextToken")
        if token is None:
            break
    assert seen == ["a", "b", "c", "d", "e"]


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ([("MaxResults", "²")], "Value '²' at 'maxResults'"),  # isdigit(), but not to int()
        ([("MaxResults", "٣")], "Value '٣' at 'maxResults'"),
        ([("MaxResults", "0")], "between 1 and 100"),
        ([("MaxResults", "101")], "between 1 and 100"),
        ([("NextToken", "%%")], "Invalid NextToken"),
    ],
)
async def test_bad_listing_parameters_are_validation_errors(
    query: list[tuple[str, str]], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        await _list(query)
