"""HTTP APIs in the SQL store: one row per API, one per integration, route and stage (each a
JSON document of its ``model.http_api`` value); deleting an API deletes its parts in the same
transaction."""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, TypeVar

import orjson
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.model.http_api import ApiCors, ApiDefinition, HttpApi, Integration, Route, Stage
from nimbus.store.schema import http_api_parts as parts
from nimbus.store.schema import http_apis as apis

PartKind = Literal["integration", "route", "stage"]
Part = Integration | Route | Stage
P = TypeVar("P", Integration, Route, Stage)
_CLASSES: dict[PartKind, type[Part]] = {
    "integration": Integration,
    "route": Route,
    "stage": Stage,
}


def _dump(value: HttpApi | Part) -> str:
    return orjson.dumps(dataclasses.asdict(value)).decode()


def _known(cls: type[Any], doc: dict[str, Any]) -> dict[str, Any]:
    """``doc``'s members ``cls`` has (a document a newer Nimbus wrote may have more)."""
    names = {f.name for f in dataclasses.fields(cls)}
    return {key: value for key, value in doc.items() if key in names}


def _load_cors(doc: dict[str, Any] | None) -> ApiCors | None:
    if doc is None:
        return None
    members: dict[str, Any] = {
        key: tuple(value) if isinstance(value, list) else value
        for key, value in _known(ApiCors, doc).items()
    }
    return ApiCors(**members)


def _load_api(text: str) -> HttpApi:
    doc = _known(HttpApi, orjson.loads(text))
    cors = _load_cors(doc.pop("cors", None))
    return HttpApi(**doc, cors=cors)


def _load_part(cls: type[P], text: str) -> P:
    return cls(**_known(cls, orjson.loads(text)))


def part_id(part: Part) -> str:
    if isinstance(part, Integration):
        return part.integration_id
    if isinstance(part, Route):
        return part.route_id
    return part.stage_name


def kind_of(part: Part) -> PartKind:
    if isinstance(part, Integration):
        return "integration"
    return "route" if isinstance(part, Route) else "stage"


class HttpApiRepository:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    # --- APIs --------------------------------------------------------------------------------

    async def insert_api(self, api: HttpApi, initial: tuple[Part, ...] = ()) -> None:
        """Insert an API with its first parts (quick create) in one transaction."""
        async with self._engine.begin() as conn:
            await conn.execute(apis.insert().values(api_id=api.api_id, config=_dump(api)))
            for part in initial:
                await conn.execute(parts.insert().values(**self._row(api.api_id, part)))

    async def get_api(self, api_id: str) -> HttpApi | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(apis).where(apis.c.api_id == api_id))).first()
        return None if row is None else _load_api(row.config)

    async def update_api(self, api: HttpApi) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                apis.update().where(apis.c.api_id == api.api_id).values(config=_dump(api))
            )
        return bool(result.rowcount)

    async def delete_api(self, api_id: str) -> bool:
        async with self._engine.begin() as conn:
            await conn.execute(parts.delete().where(parts.c.api_id == api_id))
            result = await conn.execute(apis.delete().where(apis.c.api_id == api_id))
        return bool(result.rowcount)

    async def list_apis(self, *, after: str | None, limit: int) -> list[HttpApi]:
        query = sa.select(apis).order_by(apis.c.api_id).limit(limit)
        if after is not None:
            query = query.where(apis.c.api_id > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_load_api(row.config) for row in rows]

    async def definition(self, api_id: str) -> ApiDefinition | None:
        """The API with all its parts, read in one transaction."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(apis).where(apis.c.api_id == api_id))).first()
            if row is None:
                return None
            found = (
                await conn.execute(
                    sa.select(parts).where(parts.c.api_id == api_id).order_by(parts.c.part_id)
                )
            ).all()
        integrations: dict[str, Integration] = {}
        routes: list[Route] = []
        stages: dict[str, Stage] = {}
        for part in found:
            if part.kind == "integration":
                integrations[part.part_id] = _load_part(Integration, part.config)
            elif part.kind == "route":
                routes.append(_load_part(Route, part.config))
            elif part.kind == "stage":
                stages[part.part_id] = _load_part(Stage, part.config)
        return ApiDefinition(
            api=_load_api(row.config),
            integrations=integrations,
            routes=tuple(routes),
            stages=stages,
        )

    # --- integrations, routes, stages -------------------------------------------------------

    def _row(self, api_id: str, part: Part) -> dict[str, str]:
        return {
            "api_id": api_id,
            "kind": kind_of(part),
            "part_id": part_id(part),
            "config": _dump(part),
        }

    async def insert_part(self, api_id: str, part: Part) -> bool:
        """False when the API already has a part of this kind and id (a stage's name)."""
        try:
            async with self._engine.begin() as conn:
                await conn.execute(parts.insert().values(**self._row(api_id, part)))
        except IntegrityError:
            return False
        return True

    async def update_part(self, api_id: str, part: Part) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                parts.update()
                .where(
                    parts.c.api_id == api_id,
                    parts.c.kind == kind_of(part),
                    parts.c.part_id == part_id(part),
                )
                .values(config=_dump(part))
            )
        return bool(result.rowcount)

    async def delete_part(self, api_id: str, kind: PartKind, key: str) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                parts.delete().where(
                    parts.c.api_id == api_id, parts.c.kind == kind, parts.c.part_id == key
                )
            )
        return bool(result.rowcount)

    async def get_part(self, api_id: str, cls: type[P], key: str) -> P | None:
        kind = next(k for k, c in _CLASSES.items() if c is cls)
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    sa.select(parts.c.config).where(
                        parts.c.api_id == api_id, parts.c.kind == kind, parts.c.part_id == key
                    )
                )
            ).first()
        return None if row is None else _load_part(cls, row.config)

    async def list_parts(
        self, api_id: str, cls: type[P], *, after: str | None, limit: int
    ) -> list[P]:
        kind = next(k for k, c in _CLASSES.items() if c is cls)
        query = (
            sa.select(parts.c.config)
            .where(parts.c.api_id == api_id, parts.c.kind == kind)
            .order_by(parts.c.part_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(parts.c.part_id > after)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).all()
        return [_load_part(cls, row.config) for row in rows]
