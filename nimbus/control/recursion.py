"""Recursive loop detection settings: Get/PutFunctionRecursionConfig, and the setting the
invoke path reads (from memory) when a call's lineage says it is looping."""

from __future__ import annotations

from typing import Literal, Protocol

from nimbus.errors import ResourceNotFoundError, ValidationError
from nimbus.model.arn import Arns
from nimbus.store.function_recursion import FunctionRecursionRepository

RecursiveLoop = Literal["Allow", "Terminate"]
# AWS: "By default, Lambda sets your function's configuration to Terminate."
DEFAULT: RecursiveLoop = "Terminate"


class FunctionExistence(Protocol):
    async def exists(self, name: str) -> bool: ...


def recursive_loop(value: object) -> RecursiveLoop:
    """A RecursiveLoop value; anything else is botocore's enum ValidationException."""
    if value == "Allow":
        return "Allow"
    if value == "Terminate":
        return "Terminate"
    raise ValidationError(
        f"1 validation error detected: Value '{value}' at 'recursiveLoop' failed to satisfy "
        "constraint: Member must satisfy enum value set: [Allow, Terminate]"
    )


class RecursionService:
    def __init__(
        self, *, repo: FunctionRecursionRepository, functions: FunctionExistence, arns: Arns
    ) -> None:
        self._repo = repo
        self._functions = functions
        self._arns = arns
        self._cache: dict[str, RecursiveLoop] = {}

    async def mode(self, name: str) -> RecursiveLoop:
        """The function's setting, for the invoke path (cached; Terminate when unset)."""
        cached = self._cache.get(name)
        if cached is None:
            stored = await self._repo.get(name)
            cached = recursive_loop(stored) if stored is not None else DEFAULT
            self._cache[name] = cached
        return cached

    async def get(self, name: str) -> RecursiveLoop:
        await self._require(name)
        return await self.mode(name)

    async def put(self, name: str, value: object) -> RecursiveLoop:
        checked = recursive_loop(value)
        await self._require(name)
        await self._repo.put(name, checked)
        self._cache[name] = checked
        return checked

    async def on_function_change(self, name: str) -> None:
        """A deleted function's setting goes with it: a new function of that name starts at
        Terminate again."""
        if not await self._functions.exists(name):
            await self._repo.delete(name)
            self._cache.pop(name, None)

    async def _require(self, name: str) -> None:
        if not await self._functions.exists(name):
            raise ResourceNotFoundError(f"Function not found: {self._arns.function(name)}")
