"""Asynchronous invocation settings: validate, persist, and resolve the ones that apply.

Resolution, as AWS applies them: the configuration on the invoked version or alias, else the
one on the unqualified function ($LATEST), else the defaults (2 retries, six hours).

Writes are checked in AWS's order: the function (and qualifier) must exist, an Update needs a
configuration to update, each destination must be well formed, exist, and not be the function
itself.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol

from nimbus.clock import Clock
from nimbus.errors import InvalidParameterValueError, ResourceNotFoundError
from nimbus.model.arn import LATEST, Arns, parse_function_ref
from nimbus.model.event_config import (
    MAX_EVENT_AGE_S,
    MAX_RETRY_ATTEMPTS,
    MIN_EVENT_AGE_S,
    EffectiveEventConfig,
    EventInvokeConfig,
)
from nimbus.model.function import FunctionConfig
from nimbus.store.event_configs import EventConfigRepository

_DESTINATION_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:(?P<service>lambda|sqs|sns):[a-z0-9-]+:\d{12}:(?P<rest>.+)$"
)
Resolve = Callable[[str, str | None], Awaitable[FunctionConfig]]
_UNSET: Any = object()


class DestinationDirectory(Protocol):
    async def exists(self, arn: str) -> bool:
        """Whether a well-formed destination ARN names a function, queue or topic this node
        has. Never raises."""
        ...


def check_destination(arn: str | None) -> str | None:
    """A destination must be a function, a built-in queue or a built-in topic."""
    if arn is None or arn == "":
        return None
    match = _DESTINATION_RE.match(arn)
    if (
        match is None
        or (match["service"] == "lambda" and not match["rest"].startswith("function:"))
        or (match["service"] != "lambda" and ":" in match["rest"])
    ):
        raise InvalidParameterValueError(
            f"The destination ARN {arn} is invalid: use the ARN of a function "
            "(arn:aws:lambda:REGION:ACCOUNT:function:NAME), a queue "
            "(arn:aws:sqs:REGION:ACCOUNT:NAME) or a topic (arn:aws:sns:REGION:ACCOUNT:NAME)."
        )
    return arn


def check_retry_attempts(value: Any) -> int | None:
    if value is None:
        return None
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not 0 <= value <= MAX_RETRY_ATTEMPTS
    ):
        raise InvalidParameterValueError(
            f"1 validation error detected: Value '{value}' at 'maximumRetryAttempts' failed to "
            f"satisfy constraint: Member must have value between 0 and {MAX_RETRY_ATTEMPTS}"
        )
    return value


def check_event_age(value: Any) -> int | None:
    if value is None:
        return None
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not MIN_EVENT_AGE_S <= value <= MAX_EVENT_AGE_S
    ):
        raise InvalidParameterValueError(
            f"1 validation error detected: Value '{value}' at 'maximumEventAgeInSeconds' failed "
            f"to satisfy constraint: Member must have value between {MIN_EVENT_AGE_S} and "
            f"{MAX_EVENT_AGE_S}"
        )
    return value


class EventConfigService:
    def __init__(
        self,
        *,
        repo: EventConfigRepository,
        resolve: Resolve,
        destinations: DestinationDirectory,
        arns: Arns,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._resolve = resolve
        self._destinations = destinations
        self._arns = arns
        self._clock = clock
        self._configs: dict[tuple[str, str], EventInvokeConfig] = {}

    async def load(self) -> None:
        self._configs = {(c.function_name, c.qualifier): c for c in await self._repo.load()}

    def effective(self, function: str, qualifier: str | None) -> EffectiveEventConfig:
        """The settings an event for ``function:qualifier`` runs with (no database read)."""
        config = self._configs.get((function, qualifier or LATEST)) or self._configs.get(
            (function, LATEST)
        )
        return EffectiveEventConfig.of(config)

    async def put(
        self,
        function: str,
        qualifier: str | None,
        *,
        maximum_retry_attempts: Any = None,
        maximum_event_age_s: Any = None,
        on_success: str | None = None,
        on_failure: str | None = None,
    ) -> EventInvokeConfig:
        """Replace the whole configuration (PutFunctionEventInvokeConfig)."""
        key = await self._key(function, qualifier)
        config = EventInvokeConfig(
            function_name=key[0],
            qualifier=key[1],
            maximum_retry_attempts=check_retry_attempts(maximum_retry_attempts),
            maximum_event_age_s=check_event_age(maximum_event_age_s),
            on_success=await self._destination(function, on_success),
            on_failure=await self._destination(function, on_failure),
            last_modified=self._clock.now(),
        )
        await self._repo.put(config)
        self._configs[key] = config
        return config

    async def update(
        self,
        function: str,
        qualifier: str | None,
        *,
        maximum_retry_attempts: Any = _UNSET,
        maximum_event_age_s: Any = _UNSET,
        on_success: Any = _UNSET,
        on_failure: Any = _UNSET,
    ) -> EventInvokeConfig:
        """Change only the settings given (UpdateFunctionEventInvokeConfig) of a configuration
        that exists: AWS answers 404 when there is none to update."""
        key = await self._key(function, qualifier)
        current = self._configs.get(key)
        if current is None:
            raise self._missing(key)
        changes: dict[str, Any] = {"last_modified": self._clock.now()}
        if maximum_retry_attempts is not _UNSET:
            changes["maximum_retry_attempts"] = check_retry_attempts(maximum_retry_attempts)
        if maximum_event_age_s is not _UNSET:
            changes["maximum_event_age_s"] = check_event_age(maximum_event_age_s)
        if on_success is not _UNSET:
            changes["on_success"] = await self._destination(function, on_success)
        if on_failure is not _UNSET:
            changes["on_failure"] = await self._destination(function, on_failure)
        config = replace(current, **changes)
        await self._repo.put(config)
        self._configs[key] = config
        return config

    async def get(self, function: str, qualifier: str | None) -> EventInvokeConfig:
        key = await self._key(function, qualifier)
        config = self._configs.get(key)
        if config is None:
            raise self._missing(key)
        return config

    async def delete(self, function: str, qualifier: str | None) -> None:
        key = await self._key(function, qualifier)
        if key not in self._configs:
            raise self._missing(key)
        await self._repo.delete(*key)
        del self._configs[key]

    async def list(self, function: str) -> list[EventInvokeConfig]:
        await self._resolve(function, None)
        return sorted(
            (c for c in self._configs.values() if c.function_name == function),
            key=lambda c: (c.qualifier != LATEST, c.qualifier),
        )

    async def on_function_change(self, function: str) -> None:
        """A deleted function's configurations go with it, as on AWS."""
        try:
            await self._resolve(function, None)
        except ResourceNotFoundError:
            await self.forget(function)

    async def forget(self, function: str) -> None:
        """The function was deleted: so are its configurations."""
        if any(key[0] == function for key in self._configs):
            await self._repo.delete(function)
            for key in [key for key in self._configs if key[0] == function]:
                del self._configs[key]

    async def _destination(self, function: str, arn: str | None) -> str | None:
        checked = check_destination(arn)
        if checked is None:
            return None
        if not await self._destinations.exists(checked):
            raise InvalidParameterValueError(f"The destination ARN {checked} is invalid.")
        # Any version or alias of the function counts: an event would invoke the function
        # that just failed or succeeded on it, without end.
        if checked.split(":")[2] == "lambda" and parse_function_ref(checked).name == function:
            raise InvalidParameterValueError(
                "You can't specify the function as a destination for itself."
            )
        return checked

    async def _key(self, function: str, qualifier: str | None) -> tuple[str, str]:
        # The function and the qualifier (version or alias) must exist.
        await self._resolve(function, qualifier)
        return function, qualifier or LATEST

    def _missing(self, key: tuple[str, str]) -> ResourceNotFoundError:
        arn = self._arns.function(key[0], key[1])
        return ResourceNotFoundError(f"The function {arn} doesn't have an EventInvokeConfig")
