"""A fixed catalogue of function versions and aliases for unit tests: what
``control.resolver.QualifierResolver`` reads (its VersionReader and AliasTable), without a
store."""

from __future__ import annotations

from collections.abc import Mapping

from nimbus.errors import ResourceNotFoundError
from nimbus.model.arn import Arns
from nimbus.model.function import LATEST, FunctionConfig

ARNS = Arns(region="us-east-1", account="000000000000")


def function_config(name: str, version: str = LATEST, **changes: object) -> FunctionConfig:
    """An active Python function's configuration, with ``changes`` applied."""
    config = FunctionConfig(
        name=name,
        version=version,
        runtime="python3.11",
        handler="app.handler",
        role=f"arn:aws:iam::{ARNS.account}:role/test",
        code_blob="0" * 64,
        code_sha256="",
        code_size=0,
        state="Active",
    )
    return config.replace(**changes) if changes else config


class FakeVersions:
    """VersionReader over ``{(name, version): config}``."""

    def __init__(self, configs: Mapping[tuple[str, str], FunctionConfig]) -> None:
        self._configs = dict(configs)
        self.reads: list[tuple[str, str]] = []

    async def get_version(self, name: str, version: str = LATEST) -> FunctionConfig:
        self.reads.append((name, version))
        config = self._configs.get((name, version))
        if config is None:
            raise ResourceNotFoundError(f"Function not found: {ARNS.function(name, version)}")
        return config


class FakeAliases:
    """AliasTable over ``{(name, alias): (primary version, {other version: weight})}``; an
    invoke's ``draw`` below the other version's weight routes to it."""

    def __init__(self, aliases: Mapping[tuple[str, str], tuple[str, Mapping[str, float]]]) -> None:
        self._aliases = dict(aliases)

    async def version_for(self, name: str, alias: str) -> str:
        return self._get(name, alias)[0]

    async def route(self, name: str, alias: str, draw: float) -> str:
        primary, weights = self._get(name, alias)
        for version, weight in weights.items():
            if draw < weight:
                return version
            draw -= weight
        return primary

    def _get(self, name: str, alias: str) -> tuple[str, Mapping[str, float]]:
        found = self._aliases.get((name, alias))
        if found is None:
            raise ResourceNotFoundError(f"Function not found: {ARNS.function(name, alias)}")
        return found
