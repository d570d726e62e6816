"""Schedule expressions (``at()``, ``rate()``, ``cron()``) and when they next fire, pure.

Shared by EventBridge rules (``ScheduleExpression``, UTC only, no ``at()``: the caller
checks) and EventBridge Scheduler (``ScheduleExpressionTimezone``). AWS's rules reproduced:

- ``rate(value unit)``: a positive integer and ``minute|minutes|hour|hours|day|days``, the
  unit singular for 1 and plural otherwise (EventBridge user guide, "Rate expressions").
  A rate is a fixed duration, not a wall-clock pattern: "days represents a 24-hour duration"
  even across a daylight saving change (Scheduler user guide, "Daylight saving time").
- ``at(yyyy-mm-ddThh:mm:ss)``: one time, on the wall clock of the schedule's time zone, in
  the years a cron expression may name (1970-2199): every time a schedule deals in is
  within them (``FIRST_EPOCH_S``-``LAST_EPOCH_S``), so none overflows a date.
- ``cron(...)``: six fields, see ``cron.py``; fires on whole minutes of the time zone's wall
  clock.

Daylight saving time (Scheduler user guide, "Daylight saving time on EventBridge
Scheduler"): a cron time that does not exist because the clocks sprang forward is skipped,
not moved ("your schedule invocation gets skipped if the cron expression falls on a
non-existent date and time"); a time that happens twice because they fell back fires once,
at its first occurrence. An ``at()`` time in the gap is not skipped (that would lose the only
invocation): it fires at the instant the wall clock shows it would be, an hour later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nimbus.errors import ValidationError
from nimbus.events.cron import (
    YEAR_MAX,
    YEAR_MIN,
    CronFields,
    CronSyntaxError,
    parse_cron,
    wall_times,
)

# ASCII digits only: \d would take "٣" (Arabic-Indic three), which AWS does not.
_RATE = re.compile(r"rate\(([0-9]+) ([a-z]+)\)")
_AT = re.compile(r"at\(([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})\)")
_CRON = re.compile(r"cron\((.*)\)", re.DOTALL)
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
# The instants a schedule may name: 1970-01-01T00:00:00Z to 2199-12-31T23:59:59Z.
FIRST_EPOCH_S = datetime(YEAR_MIN, 1, 1, tzinfo=UTC).timestamp()
LAST_EPOCH_S = datetime(YEAR_MAX + 1, 1, 1, tzinfo=UTC).timestamp() - 1


class InvalidScheduleExpression(ValidationError):
    """A ``ScheduleExpression`` or its time zone that AWS would reject (ValidationException)."""


@dataclass(frozen=True)
class AtSchedule:
    expression: str
    timezone: str
    at_s: float  # epoch seconds

    kind: Literal["at"] = "at"


@dataclass(frozen=True)
class RateSchedule:
    expression: str
    timezone: str
    period_s: int

    kind: Literal["rate"] = "rate"


@dataclass(frozen=True)
class CronSchedule:
    expression: str
    timezone: str
    fields: CronFields

    kind: Literal["cron"] = "cron"


Schedule = AtSchedule | RateSchedule | CronSchedule


def zone(name: str) -> tzinfo:
    """The IANA time zone ``name``; raises InvalidScheduleExpression for an unknown one."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # ValueError: not even a well-formed key (an absolute path, "..", an empty string).
        raise InvalidScheduleExpression(
            f"Invalid ScheduleExpressionTimezone {name!r}: use an IANA time zone name such "
            f"as UTC, Europe/Berlin or America/New_York."
        ) from None


def parse_schedule(expression: str, *, timezone: str = "UTC") -> Schedule:
    """Parse an AWS schedule expression; raises InvalidScheduleExpression saying what is
    wrong and what would be right."""
    tz = zone(timezone)
    if m := _RATE.fullmatch(expression):
        return _rate(expression, timezone, int(m.group(1)), m.group(2))
    if m := _AT.fullmatch(expression):
        try:
            wall = datetime.fromisoformat(m.group(1))
        except ValueError:
            raise _invalid(expression, f"{m.group(1)} is not a date and time") from None
        if not YEAR_MIN <= wall.year <= YEAR_MAX:
            raise _invalid(expression, f"the year must be {YEAR_MIN}-{YEAR_MAX}")
        return AtSchedule(expression, timezone, wall.replace(tzinfo=tz).timestamp())
    if m := _CRON.fullmatch(expression):
        try:
            fields = parse_cron(m.group(1))
        except CronSyntaxError as exc:
            raise _invalid(expression, str(exc)) from None
        return CronSchedule(expression, timezone, fields)
    if expression.startswith(("rate(", "at(", "cron(")):
        raise _invalid(expression, _shape_hint(expression))
    raise _invalid(
        expression,
        "use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(minutes hours day-of-month "
        "month day-of-week year)",
    )


def _rate(expression: str, timezone: str, value: int, unit: str) -> RateSchedule:
    singular = unit.removesuffix("s")
    if singular not in _UNIT_S:
        raise _invalid(expression, f"the unit {unit!r} must be minute(s), hour(s) or day(s)")
    if value < 1:
        raise _invalid(expression, "the value must be a positive integer")
    # EventBridge: "If the value is equal to 1, then the unit must be singular ... If the
    # value is greater than 1, the unit must be plural".
    if value == 1 and unit != singular:
        raise _invalid(expression, f"for a value of 1 the unit is singular: rate(1 {singular})")
    if value > 1 and unit == singular:
        raise _invalid(expression, f"for a value above 1 the unit is plural: {singular}s")
    return RateSchedule(expression, timezone, value * _UNIT_S[singular])


def _shape_hint(expression: str) -> str:
    if expression.startswith("rate("):
        return "write rate(value unit), e.g. rate(5 minutes), with one space and no other"
    if expression.startswith("at("):
        return "write at(yyyy-mm-ddThh:mm:ss), e.g. at(2030-01-31T08:30:00)"
    return "write cron(minutes hours day-of-month month day-of-week year)"


def _invalid(expression: str, why: str) -> InvalidScheduleExpression:
    return InvalidScheduleExpression(f"Invalid Schedule Expression {expression}: {why}.")


def next_fire(
    schedule: Schedule, after_epoch_s: float, *, anchor_epoch_s: float | None = None
) -> float | None:
    """The first time strictly after ``after_epoch_s`` at which ``schedule`` fires, or None
    if it never fires again. A rate fires at ``anchor_epoch_s`` plus whole periods (the
    anchor is a StartDate, a creation time or the last firing; default ``after_epoch_s``,
    so the next firing is one period later)."""
    if isinstance(schedule, AtSchedule):
        return schedule.at_s if schedule.at_s > after_epoch_s else None
    if isinstance(schedule, RateSchedule):
        anchor = after_epoch_s if anchor_epoch_s is None else anchor_epoch_s
        if anchor > after_epoch_s:
            return anchor
        periods = int((after_epoch_s - anchor) // schedule.period_s) + 1
        return anchor + periods * schedule.period_s
    return _next_cron(schedule, after_epoch_s)


def _next_cron(schedule: CronSchedule, after_epoch_s: float) -> float | None:
    if after_epoch_s >= LAST_EPOCH_S:  # a cron names no year after 2199
        return None
    tz = zone(schedule.timezone)
    start = datetime.fromtimestamp(max(after_epoch_s, FIRST_EPOCH_S - 86400), tz)
    for y, mo, d, h, mi in wall_times(
        schedule.fields, (start.year, start.month, start.day, start.hour, start.minute)
    ):
        # fold=0 (the default): of a wall time that happens twice, the first occurrence.
        at = datetime(y, mo, d, h, mi, tzinfo=tz)
        epoch = at.timestamp()
        if epoch <= after_epoch_s:
            continue
        # A time in the spring-forward gap does not round-trip: skipped, as AWS does.
        if datetime.fromtimestamp(epoch, tz).replace(tzinfo=None) != at.replace(tzinfo=None):
            continue
        return epoch
    return None
