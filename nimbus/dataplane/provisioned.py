"""Provisioned concurrency: pre-initialised environments for a version or alias.

A config is persisted, then a fill task asks the assignment service for environments until the
requested number exist (``provisioned_policy`` decides status, batches and surplus). A
maintenance loop replaces provisioned environments that died, as Lambda does.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from nimbus.clock import Clock
from nimbus.control.functions import timestamp
from nimbus.control.resolver import Latest, classify
from nimbus.dataplane import provisioned_policy as policy
from nimbus.dataplane.assignment import Assignment
from nimbus.dataplane.counting import Counting
from nimbus.errors import (
    InvalidParameterValueError,
    NimbusError,
    ProvisionedConcurrencyConfigNotFoundError,
    ResourceNotFoundError,
    public_reason,
)
from nimbus.model.function import FunctionConfig
from nimbus.model.invocation import EnvironmentSpec
from nimbus.store.concurrency import ProvisionedRepository, ProvisionedSetting

log = logging.getLogger(__name__)


class ConfigResolver(Protocol):
    async def config(self, name: str, qualifier: str | None) -> FunctionConfig:
        """The configuration ``name:qualifier`` names (an alias: its primary version).
        Raises ResourceNotFoundError for an unknown function, version or alias."""


class SpecSource(Protocol):
    async def spec_for(
        self, config: FunctionConfig, *, provisioned: bool = False
    ) -> EnvironmentSpec: ...


@dataclass(frozen=True, kw_only=True)
class ProvisionedView:
    name: str
    qualifier: str
    requested: int
    allocated: int
    available: int
    status: str
    status_reason: str | None
    last_modified: str


def owner_key(name: str, qualifier: str) -> str:
    return f"{name}:{qualifier}"


class ProvisionedService:
    def __init__(
        self,
        *,
        repo: ProvisionedRepository,
        resolver: ConfigResolver,
        specs: SpecSource,
        assignment: Assignment,
        counting: Counting,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._resolver = resolver
        self._specs = specs
        self._assignment = assignment
        self._counting = counting
        self._clock = clock
        self._configs: dict[tuple[str, str], ProvisionedSetting] = {}
        self._failures: dict[tuple[str, str], str] = {}
        self._fills: dict[tuple[str, str], asyncio.Task[None]] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._put_locks: dict[str, asyncio.Lock] = {}

    async def start(self) -> None:
        """Load the stored configs and start filling them (after a restart too)."""
        for setting in await self._repo.all():
            self._configs[(setting.name, setting.qualifier)] = setting
        self._loop_task = asyncio.get_running_loop().create_task(self._maintain_forever())

    async def put(self, name: str, qualifier: str, requested: int) -> ProvisionedView:
        # One Put per function at a time: the limit covers the sum over its qualifiers, and
        # two Puts checked concurrently could each fit alone and exceed it together.
        async with self._put_locks.setdefault(name, asyncio.Lock()):
            return await self._put(name, qualifier, requested)

    async def _put(self, name: str, qualifier: str, requested: int) -> ProvisionedView:
        await self._check_target(name, qualifier)
        others = sum(
            s.requested for (n, q), s in self._configs.items() if n == name and q != qualifier
        )
        problem = policy.check_request(
            name=name,
            requested=requested,
            others=others,
            reserved=self._counting.reserved(name),
            unreserved_limit=self._counting.unreserved_limit,
        )
        if problem is not None:
            raise InvalidParameterValueError(problem)
        setting = ProvisionedSetting(
            name=name,
            qualifier=qualifier,
            requested=requested,
            last_modified=timestamp(self._clock.now()),
        )
        await self._repo.put(setting)
        key = (name, qualifier)
        self._configs[key] = setting
        self._failures.pop(key, None)
        allocated, _ = self._assignment.provisioned_counts(owner_key(name, qualifier))
        extra = policy.surplus(requested=requested, allocated=allocated)
        if extra:
            self._assignment.retire_owner(owner_key(name, qualifier), extra)
        self._ensure_fill(key)
        return self.view(name, qualifier)

    async def get(self, name: str, qualifier: str) -> ProvisionedView:
        await self._resolver.config(name, None)
        if (name, qualifier) not in self._configs:
            raise ProvisionedConcurrencyConfigNotFoundError(
                "No Provisioned Concurrency Config found for this function"
            )
        return self.view(name, qualifier)

    async def list(self, name: str) -> list[ProvisionedView]:
        await self._resolver.config(name, None)
        return [self.view(n, q) for (n, q) in sorted(self._configs) if n == name]

    async def delete(self, name: str, qualifier: str) -> None:
        await self._resolver.config(name, None)
        await self.forget(name, qualifier)

    async def on_function_change(self, name: str) -> None:
        """A deleted function's provisioned configs (and environments) go with it."""
        try:
            await self._resolver.config(name, None)
        except ResourceNotFoundError:
            await self.forget(name)

    async def forget(self, name: str, qualifier: str | None = None) -> None:
        keys = [k for k in self._configs if k[0] == name and qualifier in (None, k[1])]
        await self._repo.delete(name, qualifier)
        for key in keys:
            del self._configs[key]
            task = self._fills.pop(key, None)
            if task is not None:
                task.cancel()
            self._assignment.retire_owner(owner_key(*key))

    def view(self, name: str, qualifier: str) -> ProvisionedView:
        setting = self._configs[(name, qualifier)]
        allocated, available = self._assignment.provisioned_counts(owner_key(name, qualifier))
        failure = self._failures.get((name, qualifier))
        return ProvisionedView(
            name=name,
            qualifier=qualifier,
            requested=setting.requested,
            allocated=allocated,
            available=available,
            status=policy.status(
                requested=setting.requested, allocated=allocated, failed=failure is not None
            ),
            status_reason=failure,
            last_modified=setting.last_modified,
        )

    async def close(self) -> None:
        tasks = [t for t in (self._loop_task, *self._fills.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task

    # --- internals -------------------------------------------------------------------------

    async def _check_target(self, name: str, qualifier: str) -> None:
        await self._resolver.config(name, None)  # 404 for an unknown function
        if isinstance(classify(qualifier), Latest):
            raise InvalidParameterValueError(
                "Provisioned Concurrency Configs cannot be applied to unpublished function "
                "versions."
            )
        await self._resolver.config(name, qualifier)  # 404 for an unknown version or alias

    def _ensure_fill(self, key: tuple[str, str]) -> None:
        running = self._fills.get(key)
        if running is None or running.done():
            self._fills[key] = asyncio.get_running_loop().create_task(self._fill(key))

    async def _fill(self, key: tuple[str, str]) -> None:
        name, qualifier = key
        owner = owner_key(name, qualifier)
        try:
            # Settings on an alias apply to the version it points to (its primary version).
            config = await self._resolver.config(name, qualifier)
            spec = await self._specs.spec_for(config, provisioned=True)
            while key in self._configs:
                allocated, _ = self._assignment.provisioned_counts(owner)
                batch = policy.fill_batch(
                    requested=self._configs[key].requested, allocated=allocated
                )
                if batch == 0:
                    return
                started = await asyncio.gather(
                    *(self._assignment.add_provisioned(spec, owner) for _ in range(batch))
                )
                if any(env.init_error for env in started):
                    # AWS: the config goes FAILED with this reason and is not retried (a
                    # new Put starts over); no provisioned environment serves meanwhile.
                    self._failures[key] = policy.INIT_FAILURE
                    self._assignment.retire_owner(owner)
                    log.warning("provisioning %s failed: Init failed", owner)
                    return
        except NimbusError as exc:
            self._failures[key] = exc.message
            log.warning("provisioning %s failed: %s", owner, exc.message)
        except Exception as exc:  # keep serving; report FAILED with the reason
            # The reason without the server's paths (StatusReason is shown to callers).
            self._failures[key] = f"{type(exc).__name__}: {public_reason(exc)}"
            log.exception("provisioning %s failed", owner)

    async def _maintain_forever(self) -> None:
        for key in list(self._configs):
            self._ensure_fill(key)
        while True:
            await self._clock.sleep(1.0)
            for key in list(self._configs):
                if key not in self._failures:
                    self._ensure_fill(key)
