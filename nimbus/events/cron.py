"""AWS's six-field cron expressions: a parser and an evaluator, pure.

The syntax is EventBridge's and EventBridge Scheduler's (EventBridge user guide, "Schedule
expressions for rules"; Scheduler user guide, "Cron-based schedules")::

    minutes  hours  day-of-month  month  day-of-week  year
    0-59     0-23   1-31          1-12   1-7          1970-2199
    , - * /  , - * /  , - * ? / L W  , - * /  , - * ? L #  , - * /

with month names JAN-DEC and day names SUN-SAT (1 = SUN ... 7 = SAT, unlike Unix cron's 0-6),
and one of day-of-month and day-of-week must be ``?`` (AWS does not OR them as Vixie cron
does). ``L`` alone is the month's last day (day-of-month) or Saturday (day-of-week, as in
Quartz, whose syntax AWS's is); ``5L`` is the month's last Thursday; ``LW`` the month's last
weekday; ``15W`` the weekday nearest the 15th within the month; ``3#2`` the second Tuesday.
A range may wrap (``FRI-MON``, ``22-2``), as Quartz's does.

No library was used: croniter (the obvious one) reads the sixth field as seconds, numbers
days 0-6 from Sunday (so AWS's ``3#2`` would mean a Wednesday there), ORs day-of-month with
day-of-week, and rejects ``LW`` and ``5L``; adapting all that would be more code than this.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

YEAR_MIN = 1970
YEAR_MAX = 2199

# Literal, not calendar.month_abbr: that one follows the process's locale.
_MONTHS = {
    name: i + 1
    for i, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
    )
}
# AWS numbers days of the week 1 = SUN ... 7 = SAT.
_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


class CronSyntaxError(ValueError):
    """What is wrong with a cron expression, in words meant for the caller."""


def _is_number(text: str) -> bool:
    # ASCII digits only: str.isdigit() takes "²" (which int() refuses) and "٣" (which it
    # reads as 3); AWS takes neither.
    return text.isascii() and text.isdigit()


DayKind = Literal[
    "any",  # '?': the other day field decides
    "days",  # day-of-month values
    "last",  # L: the month's last day
    "last_weekday",  # LW: the month's last Monday-Friday
    "nearest_weekday",  # nW: the Monday-Friday nearest day n, within the month
    "weekdays",  # day-of-week values, 1 = SUN
    "last_of",  # dL: the month's last day-of-week d
    "nth_of",  # d#n: the month's n-th day-of-week d
]


@dataclass(frozen=True)
class DaySpec:
    kind: DayKind
    values: frozenset[int] = frozenset()
    n: int = 0  # the day of nW, the week of d#n


@dataclass(frozen=True)
class CronFields:
    minutes: frozenset[int]
    hours: frozenset[int]
    day_of_month: DaySpec
    months: frozenset[int]
    day_of_week: DaySpec
    years: frozenset[int]


def parse_cron(body: str) -> CronFields:
    """The fields of ``cron(<body>)``; raises CronSyntaxError saying which field is wrong."""
    parts = body.split()
    if len(parts) != 6:
        raise CronSyntaxError(
            f"a cron expression has 6 fields (minutes hours day-of-month month day-of-week "
            f"year), got {len(parts)}"
        )
    minute, hour, dom, month, dow, year = parts
    if (dom == "?") == (dow == "?"):
        raise CronSyntaxError(
            "exactly one of day-of-month and day-of-week must be '?' (the other one chooses "
            "the days)"
        )
    return CronFields(
        minutes=_values(minute, "minutes", 0, 59, {}),
        hours=_values(hour, "hours", 0, 23, {}),
        day_of_month=_day_of_month(dom),
        months=_values(month, "month", 1, 12, _MONTHS),
        day_of_week=_day_of_week(dow),
        years=_values(year, "year", YEAR_MIN, YEAR_MAX, {}),
    )


def _number(text: str, field: str, lo: int, hi: int, names: dict[str, int]) -> int:
    named = names.get(text.upper())
    if named is not None:
        return named
    if not _is_number(text):
        allowed = f"{lo}-{hi}" + (f" or {_first_last(names)}" if names else "")
        raise CronSyntaxError(f"{field} field: {text!r} is not a value ({allowed})")
    value = int(text)
    if not lo <= value <= hi:
        raise CronSyntaxError(f"{field} field: {value} is out of range {lo}-{hi}")
    return value


def _first_last(names: dict[str, int]) -> str:
    ordered = sorted(names, key=names.__getitem__)
    return f"{ordered[0]}-{ordered[-1]}"


def _values(text: str, field: str, lo: int, hi: int, names: dict[str, int]) -> frozenset[int]:
    """A list of ``*``, ``a``, ``a-b`` with an optional ``/step`` each."""
    out: set[int] = set()
    for item in text.split(","):
        if not item:
            raise CronSyntaxError(f"{field} field: empty item in {text!r}")
        base, slash, step_text = item.partition("/")
        step = 1
        if slash:
            if not _is_number(step_text) or int(step_text) < 1:
                raise CronSyntaxError(
                    f"{field} field: the step after '/' in {item!r} must be a positive integer"
                )
            step = int(step_text)
        if base == "*":
            start, end = lo, hi
        elif "-" in base:
            a, _, b = base.partition("-")
            start, end = _number(a, field, lo, hi, names), _number(b, field, lo, hi, names)
        else:
            start = _number(base, field, lo, hi, names)
            # Quartz: "a/step" runs from a to the field's maximum.
            end = hi if slash else start
        span = hi - lo + 1
        # A wrapping range (22-2, FRI-MON) runs on past the maximum back to the minimum.
        stop = end if end >= start else end + span
        for v in range(start, stop + 1, step):
            out.add(v if v <= hi else v - span)
    return frozenset(out)


def _day_of_month(text: str) -> DaySpec:
    upper = text.upper()
    if upper == "?":
        return DaySpec("any")
    if upper == "L":
        return DaySpec("last")
    if upper == "LW":
        return DaySpec("last_weekday")
    if upper.endswith("W"):
        day = upper[:-1]
        if not _is_number(day) or not 1 <= int(day) <= 31:
            raise CronSyntaxError(
                f"day-of-month field: {text!r} must be nW with a day n of 1-31 (the weekday "
                f"nearest that day)"
            )
        return DaySpec("nearest_weekday", n=int(day))
    if "L" in upper or "W" in upper:
        raise CronSyntaxError(
            f"day-of-month field: {text!r}: L and W stand alone (L, LW, nW), not in a list"
        )
    return DaySpec("days", _values(text, "day-of-month", 1, 31, {}))


def _day_of_week(text: str) -> DaySpec:
    upper = text.upper()
    if upper == "?":
        return DaySpec("any")
    if upper == "L":
        return DaySpec("weekdays", frozenset({7}))  # Quartz: L alone is the week's last day
    if "#" in upper:
        day, _, nth = upper.partition("#")
        if not _is_number(nth) or not 1 <= int(nth) <= 5:
            raise CronSyntaxError(
                f"day-of-week field: in {text!r} the number after '#' must be 1-5 (which "
                f"week of the month)"
            )
        return DaySpec("nth_of", frozenset({_number(day, "day-of-week", 1, 7, _DAYS)}), int(nth))
    if upper.endswith("L"):
        weekday = _number(upper[:-1], "day-of-week", 1, 7, _DAYS)
        return DaySpec("last_of", frozenset({weekday}))
    return DaySpec("weekdays", _values(text, "day-of-week", 1, 7, _DAYS))


def _aws_weekday(year: int, month: int, day: int) -> int:
    """1 = SUN ... 7 = SAT (Python's weekday() is 0 = MON)."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _is_business_day(year: int, month: int, day: int) -> bool:
    return calendar.weekday(year, month, day) < 5


def days_in(fields: CronFields, year: int, month: int) -> list[int]:
    """The days of ``month`` on which the expression fires, ascending."""
    last = calendar.monthrange(year, month)[1]
    spec = fields.day_of_month if fields.day_of_month.kind != "any" else fields.day_of_week
    if spec.kind == "days":
        return sorted(d for d in spec.values if d <= last)
    if spec.kind == "last":
        return [last]
    if spec.kind == "last_weekday":
        day = last
        while not _is_business_day(year, month, day):
            day -= 1
        return [day]
    if spec.kind == "nearest_weekday":
        return _nearest_weekday(year, month, spec.n, last)
    if spec.kind == "weekdays":
        return [d for d in range(1, last + 1) if _aws_weekday(year, month, d) in spec.values]
    (weekday,) = spec.values
    matching = [d for d in range(1, last + 1) if _aws_weekday(year, month, d) == weekday]
    if spec.kind == "last_of":
        return [matching[-1]]
    # nth_of: a month without a fifth such day does not fire (Quartz, AWS).
    return [matching[spec.n - 1]] if spec.n <= len(matching) else []


def _nearest_weekday(year: int, month: int, day: int, last: int) -> list[int]:
    """Quartz's W: the Monday-Friday nearest ``day`` without leaving the month (1W on a
    Saturday is Monday the 3rd, not Friday of the month before)."""
    if day > last:
        return []
    if _is_business_day(year, month, day):
        return [day]
    if calendar.weekday(year, month, day) == 5:  # Saturday
        return [day - 1] if day > 1 else [day + 2]
    return [day + 1] if day < last else [day - 2]  # Sunday


def wall_times(
    fields: CronFields, start: tuple[int, int, int, int, int]
) -> Iterator[tuple[int, int, int, int, int]]:
    """(year, month, day, hour, minute) wall-clock times the expression names, ascending,
    from ``start`` (inclusive) to the end of year 2199."""
    y0, mo0, d0, h0, mi0 = start
    hours = sorted(fields.hours)
    minutes = sorted(fields.minutes)
    for year in sorted(y for y in fields.years if y >= y0):
        for month in sorted(fields.months):
            if (year, month) < (y0, mo0):
                continue
            for day in days_in(fields, year, month):
                if (year, month, day) < (y0, mo0, d0):
                    continue
                for hour in hours:
                    for minute in minutes:
                        if (year, month, day, hour, minute) >= (y0, mo0, d0, h0, mi0):
                            yield (year, month, day, hour, minute)
