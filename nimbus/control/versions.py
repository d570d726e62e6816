"""Published versions: immutable snapshots of $LATEST, numbered 1, 2, … per function."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from nimbus.clock import Clock
from nimbus.control import validation
from nimbus.control.functions import FunctionService, timestamp
from nimbus.control.resolver import AliasName, Latest, classify
from nimbus.errors import (
    InvalidParameterValueError,
    PreconditionFailedError,
    ResourceConflictError,
    ResourceNotFoundError,
)
from nimbus.model.function import LATEST, FunctionConfig
from nimbus.store.functions import FunctionRepository

# (function, version) -> names of the aliases that route to that version
AliasUsers = Callable[[str, str], Awaitable[list[str]]]

# What a version's identity does not include: comparing the rest tells whether $LATEST changed
# since the last publish (AWS publishes nothing new then, and returns that version).
_NOT_CONTENT = frozenset(
    {
        "version",
        "description",
        "revision_id",
        "last_modified",
        "state",
        "state_reason",
        "state_reason_code",
        "last_update_status",
        "last_update_status_reason",
        "last_update_status_reason_code",
    }
)


def _content(config: FunctionConfig) -> dict[str, Any]:
    return {k: v for k, v in config.to_record().items() if k not in _NOT_CONTENT}


def same_content(a: FunctionConfig, b: FunctionConfig) -> bool:
    return _content(a) == _content(b)


class VersionService:
    def __init__(
        self,
        *,
        repo: FunctionRepository,
        functions: FunctionService,
        alias_users: AliasUsers,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._functions = functions
        self._alias_users = alias_users
        self._clock = clock

    async def publish(
        self,
        name: str,
        *,
        code_sha256: str | None = None,
        revision_id: str | None = None,
        description: str | None = None,
        with_update: bool = False,
    ) -> FunctionConfig:
        """Snapshot $LATEST as the next version. ``with_update`` is Publish=True on
        CreateFunction/UpdateFunctionCode, which publishes the update it is part of."""
        latest = await self._repo.get_version(name, LATEST)
        record = await self._repo.get_record(name)
        if latest is None or record is None:
            raise ResourceNotFoundError(
                f"Function not found: {self._functions.arns.function(name)}"
            )
        if revision_id is not None and revision_id != latest.revision_id:
            raise PreconditionFailedError(
                "The Revision Id provided does not match the latest Revision Id. Call the "
                "GetFunction/GetAlias API to retrieve the latest Revision Id"
            )
        if code_sha256 is not None and code_sha256 != latest.code_sha256:
            raise InvalidParameterValueError(
                f"CodeSHA256 ({code_sha256}) is different from current CodeSHA256 in $LATEST "
                f"({latest.code_sha256}). Please try again with the CodeSHA256 in $LATEST."
            )
        if not with_update and latest.last_update_status == "InProgress":
            raise ResourceConflictError(
                "The operation cannot be performed at this time. An update is in progress for "
                f"resource: {self._functions.arns.function(name)}"
            )
        if record.next_version > 1:
            previous = await self._repo.get_version(name, str(record.next_version - 1))
            if previous is not None and same_content(previous, latest):
                return previous
        snapshot = latest.replace(
            description=description or latest.description,
            revision_id=str(uuid.uuid4()),
            last_modified=timestamp(self._clock.now()),
            # The code is the same validated blob $LATEST runs: a version is ready at once.
            state="Failed" if latest.state == "Failed" else "Active",
            state_reason=latest.state_reason if latest.state == "Failed" else None,
            state_reason_code=latest.state_reason_code if latest.state == "Failed" else None,
            last_update_status="Successful",
            last_update_status_reason=None,
            last_update_status_reason_code=None,
        )
        return await self._repo.publish(snapshot)

    async def list(
        self, name: str, *, marker: str | None, max_items: int
    ) -> tuple[list[FunctionConfig], str | None]:
        """$LATEST, then the published versions in order; the marker is the last version
        returned."""
        if not await self._functions.exists(name):
            raise ResourceNotFoundError(
                f"Function not found: {self._functions.arns.function(name)}"
            )
        after: int | None = None
        if marker is not None:
            after = 0 if marker == LATEST else validation.int64(marker)
            if after is None or after < 0:
                # Only "$LATEST" and version numbers are markers this listing hands out.
                raise InvalidParameterValueError(f"Marker '{marker}' is not valid.")
        page = await self._repo.list_versions(name, after=after, limit=max_items + 1)
        if len(page) > max_items:
            return page[:max_items], page[max_items - 1].version
        return page, None

    async def delete(self, name: str, version: str) -> None:
        match classify(version):
            case Latest():
                raise InvalidParameterValueError(
                    "$LATEST version cannot be deleted without deleting the function."
                )
            case AliasName():
                raise InvalidParameterValueError("Deletion of aliases is not currently supported.")
        if not await self._functions.exists(name):
            raise ResourceNotFoundError(
                f"Function not found: {self._functions.arns.function(name)}"
            )
        users = await self._alias_users(name, version)
        if users:
            raise ResourceConflictError(
                "Unable to delete version because the following aliases reference it: "
                f"[{', '.join(users)}]"
            )
        # A version that does not exist is deleted already: AWS answers 204 too.
        await self._repo.delete_version(name, version)
        await self._functions.version_deleted(name, version)
