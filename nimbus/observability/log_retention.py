"""Log retention: events older than their log group's retention are deleted by a periodic
prune, as CloudWatch Logs expires them.

CloudWatch Logs keeps a group's events until its retention policy (PutRetentionPolicy: 1, 3,
5, 7, 14, 30 ... 3653 days, or never) says they expire, then deletes them. Nimbus gives every
group one retention (``NIMBUS_LOG_RETENTION_DAYS``, default 30; 0 keeps events forever, as a
group without a policy). A group's own policy comes through ``RetentionPolicies`` — the seam
the CloudWatch Logs API's PutRetentionPolicy/DeleteRetentionPolicy will fill.

The prune deletes in batches, each its own transaction, so the log writer and every other
writer interleave with it (SQLite has one writer at a time); SQLite reuses the freed pages, so
the database stops growing once events expire as fast as they arrive.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from nimbus.clock import Clock, Periodic
from nimbus.store.schema import log_events

log = logging.getLogger(__name__)

DAY_MS = 86_400_000
PRUNE_INTERVAL_S = 3600.0  # CloudWatch deletes expired events within about a day
BATCH = 5000  # rows a transaction deletes
MAX_BATCHES = 2000  # per pass: the rest waits for the next pass


class RetentionPolicies(Protocol):
    def default_days(self) -> int | None:
        """Days every group without its own policy keeps events (None: forever)."""

    def group_days(self) -> Mapping[str, int | None]:
        """Groups with their own policy (PutRetentionPolicy) and their days (None: forever)."""


@dataclass(frozen=True, kw_only=True)
class FixedRetention:
    """One retention for every group (0 or None: forever), with optional per-group ones."""

    days: int | None
    groups: Mapping[str, int | None] = field(default_factory=dict)

    def default_days(self) -> int | None:
        return self.days or None

    def group_days(self) -> Mapping[str, int | None]:
        return self.groups


@dataclass(frozen=True, kw_only=True)
class PrunePlan:
    """What one prune deletes: events older than ``default_cutoff_ms`` in every group not in
    ``own``, and in each group of ``own`` those older than its cutoff (None: none)."""

    default_cutoff_ms: int | None
    own: Mapping[str, int | None]


def cutoff_ms(now_s: float, days: int | None) -> int | None:
    """Events with a timestamp before this have expired (pure); None: nothing expires."""
    if not days or days <= 0:
        return None
    return int(now_s * 1000) - days * DAY_MS


def plan(now_s: float, policies: RetentionPolicies) -> PrunePlan:
    """The prune to run at ``now_s`` (pure)."""
    return PrunePlan(
        default_cutoff_ms=cutoff_ms(now_s, policies.default_days()),
        own={group: cutoff_ms(now_s, days) for group, days in policies.group_days().items()},
    )


def conditions(prune: PrunePlan) -> list[sa.ColumnElement[bool]]:
    """One WHERE clause per set of events to delete (pure)."""
    ts, group = log_events.c.timestamp_ms, log_events.c.log_group
    where: list[sa.ColumnElement[bool]] = []
    if prune.default_cutoff_ms is not None:
        clause = ts < prune.default_cutoff_ms
        if prune.own:
            clause = sa.and_(clause, group.not_in(list(prune.own)))
        where.append(clause)
    for name, cut in prune.own.items():
        if cut is not None:
            where.append(sa.and_(group == name, ts < cut))
    return where


class LogRetention:
    def __init__(
        self,
        engine: AsyncEngine,
        policies: RetentionPolicies,
        clock: Clock,
        *,
        interval_s: float = PRUNE_INTERVAL_S,
    ) -> None:
        self._engine = engine
        self._policies = policies
        self._clock = clock
        self._periodic = Periodic(
            self._prune_logged,
            clock=clock,
            interval_s=interval_s,
            what="pruning expired log events",
            first_now=True,
        )

    async def prune_once(self) -> int:
        """Delete every expired event now; returns how many were deleted."""
        deleted = 0
        for where in conditions(plan(self._clock.now(), self._policies)):
            oldest = sa.select(log_events.c.id).where(where).order_by(log_events.c.id).limit(BATCH)
            for _ in range(MAX_BATCHES):
                async with self._engine.begin() as conn:
                    result = await conn.execute(
                        log_events.delete().where(log_events.c.id.in_(oldest))
                    )
                count = int(result.rowcount or 0)
                deleted += count
                if count < BATCH:
                    break
        return deleted

    def start(self) -> None:
        if self._policies.default_days() is None and not self._policies.group_days():
            return  # nothing ever expires
        self._periodic.start()

    async def close(self) -> None:
        await self._periodic.close()

    async def _prune_logged(self) -> None:
        deleted = await self.prune_once()
        if deleted:
            log.info("log retention: deleted %d expired events", deleted)
