"""One answer to "what does this qualifier name?", for reads and for invokes.

Lambda's qualifier grammar (botocore's ``Qualifier`` pattern ``(|[a-zA-Z0-9$_-]+)``, with alias
names required to contain a non-digit, ``(?!^[0-9]+$)([a-zA-Z0-9-_]+)``):

- absent or ``$LATEST``: the unpublished head;
- all digits: a published version, by number;
- anything else: an alias.

Reads (GetFunction, settings stored per qualifier) resolve an alias to its primary
``FunctionVersion``. An invoke routes each call independently by the alias's weights
(``routing.pick_version``), so the same alias can run a different version per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from nimbus.model.function import LATEST, FunctionConfig


@dataclass(frozen=True, slots=True)
class Latest:
    """The mutable head, ``$LATEST``."""


@dataclass(frozen=True, slots=True)
class Version:
    number: str


@dataclass(frozen=True, slots=True)
class AliasName:
    name: str


Qualifier = Latest | Version | AliasName

LATEST_QUALIFIER = Latest()


def classify(qualifier: str | None) -> Qualifier:
    """What a qualifier names, decided from its text alone (no lookup)."""
    if qualifier is None or qualifier == LATEST:
        return LATEST_QUALIFIER
    if qualifier.isascii() and qualifier.isdigit():
        return Version(qualifier)
    return AliasName(qualifier)


def is_alias(qualifier: str | None) -> bool:
    return isinstance(classify(qualifier), AliasName)


class VersionReader(Protocol):
    async def get_version(self, name: str, version: str = LATEST) -> FunctionConfig:
        """The configuration of one version. Raises ResourceNotFoundError ("Function not
        found: <qualified ARN>") for an unknown function or version."""


class AliasTable(Protocol):
    async def version_for(self, name: str, alias: str) -> str:
        """The alias's primary version. Raises ResourceNotFoundError for an unknown alias."""

    async def route(self, name: str, alias: str, draw: float) -> str:
        """The version one invocation through the alias runs, for a uniform ``draw`` in
        [0, 1). Raises ResourceNotFoundError for an unknown alias."""


class QualifierResolver:
    def __init__(self, *, functions: VersionReader, aliases: AliasTable) -> None:
        self._functions = functions
        self._aliases = aliases

    async def version(self, name: str, qualifier: str | None) -> str:
        """The version a read of ``name:qualifier`` sees (an alias's primary version)."""
        match classify(qualifier):
            case Latest():
                return LATEST
            case Version(number):
                return number
            case AliasName(alias):
                return await self._aliases.version_for(name, alias)

    async def config(self, name: str, qualifier: str | None) -> FunctionConfig:
        """The configuration a read of ``name:qualifier`` sees."""
        return await self._functions.get_version(name, await self.version(name, qualifier))

    async def for_invoke(self, name: str, qualifier: str | None, draw: float) -> FunctionConfig:
        """The configuration one invocation runs: an alias picks by weight with ``draw``."""
        match classify(qualifier):
            case AliasName(alias):
                version = await self._aliases.route(name, alias, draw)
            case Latest():
                version = LATEST
            case Version(number):
                version = number
        return await self._functions.get_version(name, version)
