from __future__ import annotations

import pytest

from nimbus.control.resolver import (
    AliasName,
    Latest,
    QualifierResolver,
    Version,
    classify,
    is_alias,
)
from nimbus.errors import ResourceNotFoundError
from nimbus.model.function import LATEST, FunctionConfig


@pytest.mark.parametrize(
    ("qualifier", "expected"),
    [
        (None, Latest()),
        ("$LATEST", Latest()),
        ("1", Version("1")),
        ("0042", Version("0042")),
        ("live", AliasName("live")),
        ("v1", AliasName("v1")),
        ("1-beta", AliasName("1-beta")),
    ],
)
def test_classify(qualifier: str | None, expected: object) -> None:
    assert classify(qualifier) == expected


def test_is_alias() -> None:
    assert is_alias("blue")
    assert not is_alias("7")
    assert not is_alias(None)


class _Functions:
    async def get_version(self, name: str, version: str = LATEST) -> FunctionConfig:
        if version not in ("$LATEST", "1", "2"):
            raise ResourceNotFoundError(f"Function not found: {name}:{version}")
        return FunctionConfig(
            name=name,
            version=version,
            runtime="python3.11",
            handler="app.handler",
            role="arn:aws:iam::000000000000:role/r",
            code_blob="0" * 64,
            code_sha256="",
            code_size=0,
        )


class _Aliases:
    async def version_for(self, name: str, alias: str) -> str:
        if alias != "live":
            raise ResourceNotFoundError(f"Function not found: {name}:{alias}")
        return "1"

    async def route(self, name: str, alias: str, draw: float) -> str:
        await self.version_for(name, alias)
        return "2" if draw < 0.25 else "1"


RESOLVER = QualifierResolver(functions=_Functions(), aliases=_Aliases())


async def test_reads_resolve_an_alias_to_its_primary_version() -> None:
    assert (await RESOLVER.config("f", "live")).version == "1"
    assert (await RESOLVER.config("f", None)).version == LATEST
    assert (await RESOLVER.config("f", "2")).version == "2"


async def test_invokes_route_an_alias_by_the_draw() -> None:
    assert (await RESOLVER.for_invoke("f", "live", 0.1)).version == "2"
    assert (await RESOLVER.for_invoke("f", "live", 0.9)).version == "1"
    assert (await RESOLVER.for_invoke("f", "$LATEST", 0.1)).version == LATEST


async def test_unknown_alias_or_version_is_not_found() -> None:
    with pytest.raises(ResourceNotFoundError):
        await RESOLVER.config("f", "gone")
    with pytest.raises(ResourceNotFoundError):
        await RESOLVER.for_invoke("f", "9", 0.5)
