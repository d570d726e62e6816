"""EventBridge Scheduler: schedule groups and schedules, kept in memory over the store, and
each enabled schedule armed on the one timer (``events/timer.py``).

AWS's behaviour reproduced (Scheduler API reference):

- the group ``default`` always exists and cannot be deleted; deleting another group deletes
  its schedules with it (AWS does it asynchronously, with the group DELETING meanwhile:
  here it is done before the call returns);
- a schedule is named within its group; creating one whose name is taken, or a group whose
  name is taken, is a ConflictException; naming a group that does not exist is a
  ResourceNotFoundException;
- UpdateSchedule replaces every setting (what the request leaves out takes its default);
- a schedule with ``ActionAfterCompletion`` DELETE deletes itself after its last
  invocation (a one-time schedule's one tick, a recurring one's last before EndDate);
- a DISABLED schedule keeps its settings and fires nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from nimbus.clock import Clock
from nimbus.errors import ConflictError, NimbusError, ResourceNotFoundError, ValidationError
from nimbus.events import schedule_rules as rules
from nimbus.events.schedule_delivery import ScheduleDelivery
from nimbus.events.schedule_expression import Schedule
from nimbus.events.timer import Firing, Timer, TimerSpec
from nimbus.model.schedule import (
    DEFAULT_GROUP,
    ScheduleConfig,
    ScheduleGroup,
    ScheduleSettings,
    ScheduleState,
)
from nimbus.store.schedules import ScheduleRepository

log = logging.getLogger(__name__)


class ScheduleService:
    def __init__(
        self,
        *,
        repo: ScheduleRepository,
        timer: Timer,
        delivery: ScheduleDelivery,
        clock: Clock,
        region: str,
        account_id: str,
    ) -> None:
        self._repo = repo
        self._timer = timer
        self._delivery = delivery
        self._clock = clock
        self._region = region
        self._account = account_id
        self._groups: dict[str, ScheduleGroup] = {}
        self._schedules: dict[tuple[str, str], ScheduleConfig] = {}
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read every group and schedule, create ``default`` on a first start, and arm the
        enabled schedules (their last fired ticks come from the store: none repeats)."""
        groups, schedules = await self._repo.load()
        self._groups = {g.name: g for g in groups}
        if DEFAULT_GROUP not in self._groups:
            now = self._clock.now()
            default = ScheduleGroup(name=DEFAULT_GROUP, created=now, modified=now)
            await self._repo.put_group(default)
            self._groups[DEFAULT_GROUP] = default
        for schedule in schedules:
            self._schedules[(schedule.group, schedule.name)] = schedule
            if schedule.settings.state != "ENABLED":
                continue
            try:
                spec = rules.timer_spec(schedule, rules.expression_of(schedule.settings))
                await self._timer.register(schedule.key, spec, self._fire)
            except Exception as exc:
                # Stored by a version whose rules were looser (a StartDate past year 9999,
                # say): kept and shown, not run, and never a reason for the server not to
                # start.
                reason = exc.message if isinstance(exc, NimbusError) else repr(exc)
                log.warning("schedule %s not armed: %s", schedule.key, reason)

    # --- ARNs ----------------------------------------------------------------------------------

    def schedule_arn(self, group: str, name: str) -> str:
        return f"arn:aws:scheduler:{self._region}:{self._account}:schedule/{group}/{name}"

    def group_arn(self, name: str) -> str:
        return f"arn:aws:scheduler:{self._region}:{self._account}:schedule-group/{name}"

    # --- Groups --------------------------------------------------------------------------------

    async def create_group(self, name: str, tags: Sequence[tuple[str, str]] = ()) -> str:
        async with self._lock:
            if name in self._groups:
                raise ConflictError(f"Schedule group {name} already exists.")
            now = self._clock.now()
            group = ScheduleGroup(name=name, created=now, modified=now, tags=tuple(tags))
            await self._repo.put_group(group)
            self._groups[name] = group
        return self.group_arn(name)

    def get_group(self, name: str) -> ScheduleGroup:
        group = self._groups.get(name)
        if group is None:
            raise ResourceNotFoundError(f"Schedule group {name} does not exist.")
        return group

    async def delete_group(self, name: str) -> None:
        async with self._lock:
            self.get_group(name)
            if name == DEFAULT_GROUP:
                raise ValidationError("The default schedule group cannot be deleted.")
            await self._repo.delete_group(name)
            del self._groups[name]
            for key in [k for k in self._schedules if k[0] == name]:
                await self._timer.unregister(self._schedules.pop(key).key)

    def list_groups(self, *, prefix: str | None) -> list[ScheduleGroup]:
        """The groups whose name starts with ``prefix``, by name (the API pages them)."""
        names = sorted(n for n in self._groups if prefix is None or n.startswith(prefix))
        return [self._groups[n] for n in names]

    async def tag_group(self, name: str, tags: Sequence[tuple[str, str]]) -> None:
        async with self._lock:
            group = self.get_group(name)
            merged = dict(group.tags) | dict(tags)
            await self._put_group_tags(group, merged)

    async def untag_group(self, name: str, keys: Sequence[str]) -> None:
        async with self._lock:
            group = self.get_group(name)
            kept = {k: v for k, v in group.tags if k not in set(keys)}
            await self._put_group_tags(group, kept)

    async def _put_group_tags(self, group: ScheduleGroup, tags: dict[str, str]) -> None:
        changed = ScheduleGroup(
            name=group.name,
            created=group.created,
            modified=group.modified,
            tags=tuple(sorted(tags.items())),
        )
        await self._repo.put_group(changed)
        self._groups[group.name] = changed

    # --- Schedules -----------------------------------------------------------------------------

    async def create(self, group: str, name: str, settings: ScheduleSettings) -> str:
        async with self._lock:
            self.get_group(group)
            if (group, name) in self._schedules:
                raise ConflictError(f"Schedule {name} already exists.")
            now = self._clock.now()
            parsed = self._check(settings, now)
            schedule = ScheduleConfig(
                group=group, name=name, settings=settings, created=now, modified=now
            )
            spec = rules.armed_spec(schedule, parsed, now=now)  # before it is stored
            await self._repo.put(schedule)
            # A name used before (a schedule deleted, then created again) starts afresh.
            await self._timer.unregister(schedule.key)
            self._schedules[(group, name)] = schedule
            await self._arm(schedule, spec)
        return self.schedule_arn(group, name)

    async def update(self, group: str, name: str, settings: ScheduleSettings) -> str:
        async with self._lock:
            old = self.get(group, name)
            now = self._clock.now()
            parsed = self._check(settings, now)
            schedule = ScheduleConfig(
                group=group, name=name, settings=settings, created=old.created, modified=now
            )
            spec = rules.armed_spec(schedule, parsed, now=now)  # before it is stored
            await self._repo.put(schedule)
            self._schedules[(group, name)] = schedule
            # The last fired tick is kept: a change never makes a tick fire twice.
            await self._timer.unregister(schedule.key, forget=False)
            await self._arm(schedule, spec)
        return self.schedule_arn(group, name)

    def get(self, group: str, name: str) -> ScheduleConfig:
        self.get_group(group)
        schedule = self._schedules.get((group, name))
        if schedule is None:
            raise ResourceNotFoundError(f"Schedule {name} does not exist.")
        return schedule

    async def delete(self, group: str, name: str) -> None:
        async with self._lock:
            schedule = self.get(group, name)
            await self._remove(schedule)

    def list_schedules(
        self, *, group: str | None, prefix: str | None, state: ScheduleState | None
    ) -> list[ScheduleConfig]:
        """The schedules chosen, by group and name (the API pages them)."""
        if group is not None:
            self.get_group(group)
        chosen = [
            s
            for (g, n), s in self._schedules.items()
            if (group is None or g == group)
            and (prefix is None or n.startswith(prefix))
            and (state is None or s.settings.state == state)
        ]
        return sorted(chosen, key=lambda s: (s.group, s.name))

    # --- Firing --------------------------------------------------------------------------------

    def _check(self, settings: ScheduleSettings, now: float) -> Schedule:
        return rules.check(settings, now=now, region=self._region, account=self._account)

    async def _arm(self, schedule: ScheduleConfig, spec: TimerSpec) -> None:
        if schedule.settings.state == "ENABLED":
            await self._timer.register(schedule.key, spec, self._fire)

    async def _fire(self, firing: Firing) -> None:
        group, _, name = firing.key.removeprefix("scheduler:").partition("/")
        schedule = self._schedules.get((group, name))
        if schedule is None:  # deleted while its tick was being written down
            return
        await self._delivery.deliver(
            schedule.settings.target, schedule_arn=self.schedule_arn(group, name), tick=firing.tick
        )
        if firing.final and schedule.settings.after_completion == "DELETE":
            async with self._lock:
                if self._schedules.get((group, name)) is schedule:
                    await self._remove(schedule)

    async def _remove(self, schedule: ScheduleConfig) -> None:
        await self._repo.delete(schedule.group, schedule.name)
        self._schedules.pop((schedule.group, schedule.name), None)
        await self._timer.unregister(schedule.key)
