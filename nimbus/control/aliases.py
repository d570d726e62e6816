"""Aliases: create, read, update, delete, list — and the in-memory table the invoke path
routes through instead of reading the database on every call."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping

from nimbus.control import alias_rules
from nimbus.control.functions import FunctionService
from nimbus.control.routing import pick_version
from nimbus.errors import (
    PreconditionFailedError,
    ResourceConflictError,
    ResourceNotFoundError,
)
from nimbus.model.alias import Alias, AliasTarget
from nimbus.store.aliases import AliasRepository


class AliasService:
    def __init__(self, *, repo: AliasRepository, functions: FunctionService) -> None:
        self._repo = repo
        self._functions = functions
        self._cache: dict[tuple[str, str], Alias] = {}
        self._deleted: list[Callable[[str, str], Awaitable[None]]] = []

    def on_delete(self, listener: Callable[[str, str], Awaitable[None]]) -> None:
        """Call ``listener(function, alias)`` after an alias is deleted (its resource-based
        policy goes with it; function change listeners are not told of alias deletions)."""
        self._deleted.append(listener)

    # --- the invoke path -------------------------------------------------------------------

    async def route(self, name: str, alias: str, draw: float) -> str:
        """The version one invocation of ``name:alias`` runs, for a uniform ``draw`` in
        [0, 1). Raises ResourceNotFoundError (as Invoke does on AWS) for an unknown alias."""
        return pick_version((await self._cached(name, alias)).target, draw)

    async def version_for(self, name: str, alias: str) -> str:
        """The alias's primary version: what reads (GetFunction, settings) resolve it to."""
        return (await self._cached(name, alias)).target.version

    async def referencing(self, name: str, version: str) -> list[str]:
        """Names of the aliases that can route to ``version``."""
        return [a.name for a in await self._repo.list(name) if a.uses(version)]

    async def on_function_change(self, name: str) -> None:
        """A deleted function's aliases went with it (in the same transaction)."""
        if not await self._functions.exists(name):
            self.forget(name)

    def forget(self, name: str) -> None:
        for key in [key for key in self._cache if key[0] == name]:
            del self._cache[key]

    # --- the API ---------------------------------------------------------------------------

    async def create(
        self,
        name: str,
        *,
        alias: str,
        version: str,
        description: str,
        weights: Mapping[str, float],
    ) -> Alias:
        await self._functions.get_version(name, version)  # "Function not found: …:version"
        target = await self._checked_target(name, version, weights)
        created = Alias(
            function=name,
            name=alias,
            target=target,
            description=description,
            revision_id=str(uuid.uuid4()),
        )
        if not await self._repo.create(created):
            raise ResourceConflictError(
                f"Alias already exists: {self._functions.arns.function(name, alias)}"
            )
        self._cache[(name, alias)] = created
        return created

    async def get(self, name: str, alias: str) -> Alias:
        await self._require_function(name)
        found = await self._repo.get(name, alias)
        if found is None:
            raise ResourceNotFoundError(
                f"Cannot find alias arn: {self._functions.arns.function(name, alias)}"
            )
        return found

    async def update(
        self,
        name: str,
        alias: str,
        *,
        version: str | None,
        description: str | None,
        weights: Mapping[str, float] | None,
        revision_id: str | None,
    ) -> Alias:
        await self._require_function(name)
        current = await self._repo.get(name, alias)
        if current is None:
            raise ResourceNotFoundError(
                f"Alias not found: {self._functions.arns.function(name, alias)}"
            )
        if revision_id is not None and revision_id != current.revision_id:
            raise _stale_revision()
        new_version = current.target.version if version is None else version
        if version is not None:
            await self._functions.get_version(name, new_version)
        target = await self._checked_target(
            name, new_version, current.target.weights if weights is None else weights
        )
        updated = Alias(
            function=name,
            name=alias,
            target=target,
            description=current.description if description is None else description,
            revision_id=str(uuid.uuid4()),
        )
        if not await self._repo.replace(updated, expect_revision=current.revision_id):
            raise _stale_revision()
        self._cache[(name, alias)] = updated
        return updated

    async def delete(self, name: str, alias: str) -> None:
        # AWS answers 204 for an alias that does not exist, 404 only for the function.
        await self._require_function(name)
        await self._repo.delete(name, alias)
        self._cache.pop((name, alias), None)
        for listener in self._deleted:
            await listener(name, alias)

    async def list(
        self, name: str, *, version: str | None, marker: str | None, max_items: int
    ) -> tuple[list[Alias], str | None]:
        await self._require_function(name)
        matching = [
            a
            for a in await self._repo.list(name, after=marker)
            if version is None or a.target.version == version
        ]
        if len(matching) > max_items:
            return matching[:max_items], matching[max_items - 1].name
        return matching, None

    # --- internals -------------------------------------------------------------------------

    async def _cached(self, name: str, alias: str) -> Alias:
        found = self._cache.get((name, alias))
        if found is None:
            found = await self._repo.get(name, alias)
            if found is None:
                raise ResourceNotFoundError(
                    f"Function not found: {self._functions.arns.function(name, alias)}"
                )
            self._cache[(name, alias)] = found
        return found

    async def _checked_target(
        self, name: str, version: str, weights: Mapping[str, float]
    ) -> AliasTarget:
        target = alias_rules.target(version, weights)
        for extra in target.weights:
            await self._functions.get_version(name, extra)
        return target

    async def _require_function(self, name: str) -> None:
        if not await self._functions.exists(name):
            raise ResourceNotFoundError(
                f"Function not found: {self._functions.arns.function(name)}"
            )


def _stale_revision() -> PreconditionFailedError:
    return PreconditionFailedError(
        "The Revision Id provided does not match the latest Revision Id. Call the "
        "GetFunction/GetAlias API to retrieve the latest Revision Id"
    )
