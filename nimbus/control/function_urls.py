"""Function URLs: Create/Get/Update/Delete/ListFunctionUrlConfigs, and the lookup by url id
the URL endpoint (``frontend.function_url_server``) serves requests through.

A function has at most one URL unqualified and one per alias (a second: 409, as AWS); a
version or ``$LATEST`` cannot have one (the model's Qualifier pattern). Deleting the
function or the alias deletes its URL; deleting a URL stops it serving at once on this node
(the lookup cache is written through) and within ``ttl_s`` on the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from nimbus.clock import Clock
from nimbus.control import function_url_rules as rules
from nimbus.control.functions import timestamp
from nimbus.control.ttl_cache import TtlCache
from nimbus.errors import InvalidParameterValueError, ResourceConflictError, ResourceNotFoundError
from nimbus.model.arn import Arns
from nimbus.store.function_urls import FunctionUrlRepository, StoredUrl
from nimbus.web.endpoints import EndpointNames

NOT_FOUND = "The resource you requested does not exist."
PAGE = 50  # "returns a maximum of 50 items in each response, even if you set the number higher"
_MARKER = "url:"


class FunctionExistence(Protocol):
    async def exists(self, name: str) -> bool: ...


class AliasTargets(Protocol):
    async def get(self, name: str, alias: str) -> object:
        """Raises ResourceNotFoundError for an unknown function or alias."""
        ...


@dataclass(frozen=True, kw_only=True)
class UrlConfig:
    function: str
    qualifier: str  # "" or an alias
    url_id: str
    auth_type: str
    invoke_mode: str
    cors: Mapping[str, Any] | None
    created: float
    modified: float

    def document(self) -> str:
        return orjson.dumps(
            {
                "AuthType": self.auth_type,
                "InvokeMode": self.invoke_mode,
                "Cors": self.cors,
                "Created": self.created,
                "Modified": self.modified,
            }
        ).decode()


def _config(stored: StoredUrl) -> UrlConfig:
    doc = orjson.loads(stored.config)
    return UrlConfig(
        function=stored.function,
        qualifier=stored.qualifier,
        url_id=stored.url_id,
        auth_type=doc["AuthType"],
        invoke_mode=doc.get("InvokeMode", "BUFFERED"),
        cors=doc.get("Cors"),
        created=doc["Created"],
        modified=doc["Modified"],
    )


class FunctionUrlService:
    def __init__(
        self,
        *,
        repo: FunctionUrlRepository,
        functions: FunctionExistence,
        aliases: AliasTargets,
        arns: Arns,
        names: EndpointNames,
        clock: Clock,
        ttl_s: float = 1.0,
    ) -> None:
        self._repo = repo
        self._functions = functions
        self._aliases = aliases
        self._arns = arns
        self._names = names
        self._clock = clock
        self._by_id: TtlCache[str, UrlConfig | None] = TtlCache(ttl_s=ttl_s)

    # --- the Lambda API -------------------------------------------------------------------

    async def create(
        self, name: str, qualifier: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        target = rules.qualifier(qualifier)
        auth = rules.auth_type(body.get("AuthType"), required=True)
        mode = rules.invoke_mode(body.get("InvokeMode")) or "BUFFERED"
        cors = rules.cors(body.get("Cors"))
        await self._require_target(name, target)
        now = self._clock.now()
        assert auth is not None
        config = UrlConfig(
            function=name,
            qualifier=target,
            url_id=rules.new_url_id(),
            auth_type=auth,
            invoke_mode=mode,
            cors=cors,
            created=now,
            modified=now,
        )
        stored = StoredUrl(
            function=name, qualifier=target, url_id=config.url_id, config=config.document()
        )
        if not await self._repo.insert(stored):
            raise ResourceConflictError(
                "Failed to create function url config for [functionArn = "
                f"{self._arns.function(name, target or None)}]. Error message:  "
                "FunctionUrlConfig exists for this Lambda function",
                Type="User",
            )
        self._by_id.put(config.url_id, config, now=self._clock.monotonic())
        shape = self.shape(config)
        shape.pop("LastModifiedTime")  # CreateFunctionUrlConfig's output has none
        return shape

    async def get(self, name: str, qualifier: str | None) -> dict[str, Any]:
        return self.shape(await self._existing(name, rules.qualifier(qualifier)))

    async def update(
        self, name: str, qualifier: str | None, body: Mapping[str, Any]
    ) -> dict[str, Any]:
        target = rules.qualifier(qualifier)
        auth = rules.auth_type(body.get("AuthType"), required=False)
        mode = rules.invoke_mode(body.get("InvokeMode"))
        cors = rules.cors(body.get("Cors"))
        current = await self._existing(name, target)
        updated = replace(
            current,
            auth_type=auth or current.auth_type,
            invoke_mode=mode or current.invoke_mode,
            cors=cors if "Cors" in body else current.cors,
            modified=self._clock.now(),
        )
        if not await self._repo.update(name, target, updated.document()):
            raise ResourceNotFoundError(NOT_FOUND)
        self._by_id.put(updated.url_id, updated, now=self._clock.monotonic())
        return self.shape(updated)

    async def delete(self, name: str, qualifier: str | None) -> None:
        target = rules.qualifier(qualifier)
        await self._require_target(name, target)
        deleted = await self._repo.delete(name, target)
        if not deleted:
            raise ResourceNotFoundError(NOT_FOUND)
        self._forget(deleted)

    async def list_urls(
        self, name: str, *, marker: str | None, max_items: int
    ) -> tuple[list[dict[str, Any]], str | None]:
        if not await self._functions.exists(name):
            raise ResourceNotFoundError(f"Function not found: {self._arns.function(name)}")
        after: str | None = None
        if marker is not None:
            if not marker.startswith(_MARKER):
                raise InvalidParameterValueError(f"Marker '{marker}' is not valid.")
            after = marker[len(_MARKER) :]
        limit = min(max_items, PAGE)
        rows = await self._repo.list(name, after=after, limit=limit + 1)
        page = [self.shape(_config(row)) for row in rows[:limit]]
        more = len(rows) > limit
        return page, f"{_MARKER}{rows[limit - 1].qualifier}" if more else None

    def shape(self, config: UrlConfig) -> dict[str, Any]:
        """The FunctionUrlConfig shape botocore's model has."""
        shape: dict[str, Any] = {
            "FunctionUrl": self._names.url("url", config.url_id),
            "FunctionArn": self._arns.function(config.function, config.qualifier or None),
            "AuthType": config.auth_type,
            "CreationTime": timestamp(config.created),
            "LastModifiedTime": timestamp(config.modified),
            "InvokeMode": config.invoke_mode,
        }
        if config.cors is not None:
            shape["Cors"] = dict(config.cors)
        return shape

    # --- the endpoint -----------------------------------------------------------------------

    async def by_url_id(self, url_id: str) -> UrlConfig | None:
        """The URL a request names (cached for ``ttl_s``), None when there is none."""
        now = self._clock.monotonic()
        cached = self._by_id.get(url_id, now=now)
        if cached is not None:
            return cached.value
        stored = await self._repo.by_url_id(url_id)
        config = None if stored is None else _config(stored)
        self._by_id.put(url_id, config, now=now)
        return config

    # --- lifecycle hooks ---------------------------------------------------------------------

    async def on_function_change(self, name: str) -> None:
        """A deleted function's URLs go with it."""
        if not await self._functions.exists(name):
            self._forget(await self._repo.delete(name))

    async def qualifier_deleted(self, name: str, qualifier: str) -> None:
        """A deleted alias's URL goes with it (``AliasService.on_delete``)."""
        self._forget(await self._repo.delete(name, qualifier))

    # --- internals ---------------------------------------------------------------------------

    def _forget(self, url_ids: list[str]) -> None:
        now = self._clock.monotonic()
        for url_id in url_ids:
            self._by_id.put(url_id, None, now=now)

    async def _existing(self, name: str, target: str) -> UrlConfig:
        await self._require_target(name, target)
        stored = await self._repo.get(name, target)
        if stored is None:
            raise ResourceNotFoundError(NOT_FOUND)
        return _config(stored)

    async def _require_target(self, name: str, target: str) -> None:
        if not await self._functions.exists(name):
            raise ResourceNotFoundError(f"Function not found: {self._arns.function(name)}")
        if target:
            await self._aliases.get(name, target)
