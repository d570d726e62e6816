"""Schedule expressions: a table of expressions and the times they fire next, on AWS's rules
(day-of-week 1 = SUN, one of the day fields '?', L/W/#, the year field, time zones with their
daylight saving changes), and the invalid ones with what their messages say."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from nimbus.errors import ValidationError
from nimbus.events.schedule_expression import (
    AtSchedule,
    InvalidScheduleExpression,
    RateSchedule,
    next_fire,
    parse_schedule,
)


def _epoch(text: str, tz: str = "UTC") -> float:
    zone = UTC if tz == "UTC" else ZoneInfo(tz)
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def _fires(expression: str, after: str, *, tz: str = "UTC", n: int = 3) -> list[str]:
    """The next ``n`` fire times after ``after`` (wall clock of ``tz``), as ISO text with
    the offset, so a DST change shows."""
    schedule = parse_schedule(expression, timezone=tz)
    t: float | None = _epoch(after, tz)
    out = []
    zone = UTC if tz == "UTC" else ZoneInfo(tz)
    for _ in range(n):
        assert t is not None
        t = next_fire(schedule, t)
        if t is None:
            out.append("never")
            break
        out.append(datetime.fromtimestamp(t, zone).isoformat())
    return out


FIRES = [
    # every day at 12:00 UTC; a time already past today moves to tomorrow
    (
        "cron(0 12 * * ? *)",
        "2025-05-01T12:00:00",
        "UTC",
        ["2025-05-02T12:00:00+00:00", "2025-05-03T12:00:00+00:00", "2025-05-04T12:00:00+00:00"],
    ),
    # lists, ranges and steps
    (
        "cron(0/20 8-9 * * ? *)",
        "2025-05-01T08:30:00",
        "UTC",
        ["2025-05-01T08:40:00+00:00", "2025-05-01T09:00:00+00:00", "2025-05-01T09:20:00+00:00"],
    ),
    (
        "cron(15,45 10 * * ? *)",
        "2025-05-01T10:15:00",
        "UTC",
        ["2025-05-01T10:45:00+00:00", "2025-05-02T10:15:00+00:00", "2025-05-02T10:45:00+00:00"],
    ),
    # day-of-week 2-6 is MON-FRI (1 = SUN): 2025-05-02 is a Friday
    (
        "cron(0 9 ? * 2-6 *)",
        "2025-05-02T10:00:00",
        "UTC",
        ["2025-05-05T09:00:00+00:00", "2025-05-06T09:00:00+00:00", "2025-05-07T09:00:00+00:00"],
    ),
    (
        "cron(0 9 ? * MON-FRI *)",
        "2025-05-02T10:00:00",
        "UTC",
        ["2025-05-05T09:00:00+00:00", "2025-05-06T09:00:00+00:00", "2025-05-07T09:00:00+00:00"],
    ),
    # a range that wraps the week
    (
        "cron(0 12 ? * FRI-MON *)",
        "2025-05-01T13:00:00",
        "UTC",
        ["2025-05-02T12:00:00+00:00", "2025-05-03T12:00:00+00:00", "2025-05-04T12:00:00+00:00"],
    ),
    # months by name, day 31 only in the months that have one
    (
        "cron(0 0 31 JAN-APR ? *)",
        "2025-01-31T00:00:00",
        "UTC",
        ["2025-03-31T00:00:00+00:00", "2026-01-31T00:00:00+00:00", "2026-03-31T00:00:00+00:00"],
    ),
    # L: the last day of the month (February of a leap year)
    (
        "cron(0 12 L * ? *)",
        "2028-01-31T12:00:00",
        "UTC",
        ["2028-02-29T12:00:00+00:00", "2028-03-31T12:00:00+00:00", "2028-04-30T12:00:00+00:00"],
    ),
    # LW: the last weekday (2025-05-31 is a Saturday, 2025-08-31 a Sunday)
    (
        "cron(0 12 LW * ? *)",
        "2025-05-01T00:00:00",
        "UTC",
        ["2025-05-30T12:00:00+00:00", "2025-06-30T12:00:00+00:00", "2025-07-31T12:00:00+00:00"],
    ),
    # 15W: the weekday nearest the 15th (2025-06-15 is a Sunday -> Monday the 16th;
    # 2025-11-15 a Saturday -> Friday the 14th)
    (
        "cron(0 12 15W * ? *)",
        "2025-06-01T00:00:00",
        "UTC",
        ["2025-06-16T12:00:00+00:00", "2025-07-15T12:00:00+00:00", "2025-08-15T12:00:00+00:00"],
    ),
    (
        "cron(0 12 15W 11 ? 2025)",
        "2025-06-01T00:00:00",
        "UTC",
        ["2025-11-14T12:00:00+00:00", "never"],
    ),
    # 1W on a Saturday stays in the month: Monday the 3rd (2025-11-01 is a Saturday)
    (
        "cron(0 12 1W 11 ? 2025)",
        "2025-06-01T00:00:00",
        "UTC",
        ["2025-11-03T12:00:00+00:00", "never"],
    ),
    # 6L: the last Friday of the month
    (
        "cron(0 18 ? * 6L *)",
        "2025-05-01T00:00:00",
        "UTC",
        ["2025-05-30T18:00:00+00:00", "2025-06-27T18:00:00+00:00", "2025-07-25T18:00:00+00:00"],
    ),
    # 3#2: the second Tuesday (3 = TUE); 2#5 (fifth Monday) skips months without one
    (
        "cron(0 10 ? * 3#2 *)",
        "2025-05-01T00:00:00",
        "UTC",
        ["2025-05-13T10:00:00+00:00", "2025-06-10T10:00:00+00:00", "2025-07-08T10:00:00+00:00"],
    ),
    (
        "cron(0 10 ? * MON#5 *)",
        "2025-05-01T00:00:00",
        "UTC",
        ["2025-06-30T10:00:00+00:00", "2025-09-29T10:00:00+00:00", "2025-12-29T10:00:00+00:00"],
    ),
    # the year field bounds it: nothing after the last year
    (
        "cron(0 0 1 1 ? 2026-2027)",
        "2025-05-01T00:00:00",
        "UTC",
        ["2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00", "never"],
    ),
    ("cron(0 0 1 1 ? 2020)", "2025-05-01T00:00:00", "UTC", ["never"]),
    # a time zone: 09:00 in New York, EDT then EST across the November change
    (
        "cron(0 9 * * ? *)",
        "2025-11-01T12:00:00",
        "America/New_York",
        ["2025-11-02T09:00:00-05:00", "2025-11-03T09:00:00-05:00", "2025-11-04T09:00:00-05:00"],
    ),
    # Europe/Berlin springs forward on 2025-03-30 at 02:00 -> 03:00: 02:00 and 02:30 do not
    # exist that day and are skipped (AWS: "your schedule invocation gets skipped")
    (
        "cron(0 2 * * ? *)",
        "2025-03-29T12:00:00",
        "Europe/Berlin",
        ["2025-03-31T02:00:00+02:00", "2025-04-01T02:00:00+02:00", "2025-04-02T02:00:00+02:00"],
    ),
    (
        "cron(30 1-3 30 3 ? 2025)",
        "2025-03-30T00:00:00",
        "Europe/Berlin",
        ["2025-03-30T01:30:00+01:00", "2025-03-30T03:30:00+02:00", "never"],
    ),
    # ... and falls back on 2025-10-26 at 03:00 -> 02:00: 02:00 happens twice and fires once
    (
        "cron(0 2 * * ? *)",
        "2025-10-25T12:00:00",
        "Europe/Berlin",
        ["2025-10-26T02:00:00+02:00", "2025-10-27T02:00:00+01:00", "2025-10-28T02:00:00+01:00"],
    ),
    (
        "cron(*/30 * 26 10 ? 2025)",
        "2025-10-26T01:40:00",
        "Europe/Berlin",
        ["2025-10-26T02:00:00+02:00", "2025-10-26T02:30:00+02:00", "2025-10-26T03:00:00+01:00"],
    ),
    # rate(): a fixed duration, whatever the wall clock does
    (
        "rate(1 day)",
        "2025-03-29T12:00:00",
        "Europe/Berlin",
        ["2025-03-30T13:00:00+02:00", "2025-03-31T13:00:00+02:00", "2025-04-01T13:00:00+02:00"],
    ),
    (
        "rate(5 minutes)",
        "2025-05-01T12:00:00",
        "UTC",
        ["2025-05-01T12:05:00+00:00", "2025-05-01T12:10:00+00:00", "2025-05-01T12:15:00+00:00"],
    ),
    (
        "rate(1 hour)",
        "2025-05-01T12:00:00",
        "UTC",
        ["2025-05-01T13:00:00+00:00", "2025-05-01T14:00:00+00:00", "2025-05-01T15:00:00+00:00"],
    ),
    # at(): once, on the time zone's wall clock
    (
        "at(2025-06-01T08:30:00)",
        "2025-05-01T00:00:00",
        "Asia/Tokyo",
        ["2025-06-01T08:30:00+09:00", "never"],
    ),
]


@pytest.mark.parametrize(("expression", "after", "tz", "expected"), FIRES)
def test_next_fire_times(expression: str, after: str, tz: str, expected: list[str]) -> None:
    assert _fires(expression, after, tz=tz, n=len(expected)) == expected


def test_at_in_the_spring_forward_gap_still_fires_once() -> None:
    # 02:30 does not exist in Berlin on 2025-03-30: the one invocation is not lost, it runs
    # when the wall clock would show it (03:30 CEST).
    schedule = parse_schedule("at(2025-03-30T02:30:00)", timezone="Europe/Berlin")
    assert isinstance(schedule, AtSchedule)
    assert schedule.at_s == _epoch("2025-03-30T03:30:00", "Europe/Berlin")


def test_at_already_past_never_fires_again() -> None:
    schedule = parse_schedule("at(2025-06-01T08:30:00)")
    assert next_fire(schedule, _epoch("2025-06-01T08:30:00")) is None


def test_rate_counts_whole_periods_from_its_anchor() -> None:
    schedule = parse_schedule("rate(10 minutes)")
    assert isinstance(schedule, RateSchedule) and schedule.period_s == 600
    anchor = _epoch("2025-05-01T12:00:00")
    # after 12:25 the next tick of an anchor at 12:00 is 12:30, not 12:35
    assert next_fire(schedule, anchor + 1500, anchor_epoch_s=anchor) == anchor + 1800
    # an anchor in the future (a StartDate) is itself the first tick
    assert next_fire(schedule, anchor - 5, anchor_epoch_s=anchor) == anchor


def test_names_are_case_insensitive() -> None:
    a = parse_schedule("cron(0 9 ? jan mon#1 *)")
    b = parse_schedule("cron(0 9 ? JAN 2#1 *)")
    assert a.fields == b.fields  # type: ignore[union-attr]


INVALID = [
    ("cron(0 12 * * * *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 12 ? * ? *)", "exactly one of day-of-month and day-of-week must be '?'"),
    ("cron(0 12 * * ?)", "has 6 fields"),
    ("cron(0 12 * * ? * *)", "has 6 fields"),
    ("cron(60 12 * * ? *)", "minutes field: 60 is out of range 0-59"),
    ("cron(0 24 * * ? *)", "hours field: 24 is out of range 0-23"),
    ("cron(0 12 0 * ? *)", "day-of-month field: 0 is out of range 1-31"),
    ("cron(0 12 ? 13 MON *)", "month field: 13 is out of range 1-12"),
    ("cron(0 12 ? * 0 *)", "day-of-week field: 0 is out of range 1-7"),
    ("cron(0 12 ? * 8 *)", "day-of-week field: 8 is out of range 1-7"),
    ("cron(0 12 * * ? 1969)", "year field: 1969 is out of range 1970-2199"),
    ("cron(0 12 * * ? 2200)", "year field: 2200 is out of range 1970-2199"),
    ("cron(0 12 ? FOO * *)", "month field: 'FOO' is not a value (1-12 or JAN-DEC)"),
    ("cron(0 12 ? * FUN *)", "'FUN' is not a value (1-7 or SUN-SAT)"),
    ("cron(0/0 12 * * ? *)", "the step after '/' in '0/0' must be a positive integer"),
    ("cron(0,,5 12 * * ? *)", "empty item"),
    ("cron(0 12 1,L * ? *)", "L and W stand alone"),
    ("cron(0 12 32W * ? *)", "must be nW with a day n of 1-31"),
    ("cron(0 12 ? * 2#6 *)", "the number after '#' must be 1-5"),
    ("cron(0 12 ? * 9L *)", "day-of-week field: 9 is out of range 1-7"),
    ("rate(1 minutes)", "for a value of 1 the unit is singular: rate(1 minute)"),
    ("rate(5 minute)", "for a value above 1 the unit is plural: minutes"),
    ("rate(0 minutes)", "the value must be a positive integer"),
    ("rate(5 weeks)", "the unit 'weeks' must be minute(s), hour(s) or day(s)"),
    ("rate(-5 minutes)", "write rate(value unit)"),
    ("rate(5  minutes)", "write rate(value unit)"),
    ("at(2025-02-30T00:00:00)", "2025-02-30T00:00:00 is not a date and time"),
    ("at(2025-02-01 00:00:00)", "write at(yyyy-mm-ddThh:mm:ss)"),
    ("every 5 minutes", "use at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron("),
    ("", "use at(yyyy-mm-ddThh:mm:ss)"),
    # The years a schedule may name, at() as cron's.
    ("at(9999-12-31T23:59:59)", "the year must be 1970-2199"),
    ("at(1969-12-31T23:59:59)", "the year must be 1970-2199"),
    # ASCII digits only: "²" isdigit() but int() refuses it; "٣" int() reads as 3.
    ("cron(² 12 * * ? *)", "minutes field: '²' is not a value (0-59)"),
    ("cron(٣ 12 * * ? *)", "minutes field: '٣' is not a value (0-59)"),
    ("cron(0/² 12 * * ? *)", "the step after '/' in '0/²' must be a positive integer"),
    ("cron(0 12 ²W * ? *)", "must be nW with a day n of 1-31"),
    ("cron(0 12 ? * 2#² *)", "the number after '#' must be 1-5"),
    ("cron(0 12 ? * ٣L *)", "day-of-week field: '٣' is not a value"),
    ("rate(٣ minutes)", "write rate(value unit)"),
    ("at(٢٠٣٠-01-01T00:00:00)", "write at(yyyy-mm-ddThh:mm:ss)"),
]


@pytest.mark.parametrize(("expression", "says"), INVALID)
def test_invalid_expressions_say_what_is_wrong(expression: str, says: str) -> None:
    with pytest.raises(InvalidScheduleExpression) as caught:
        parse_schedule(expression)
    assert says in caught.value.message
    assert caught.value.message.startswith(f"Invalid Schedule Expression {expression}:")
    # ...and reach the wire as AWS's ValidationException (400).
    assert isinstance(caught.value, ValidationError)
    assert caught.value.status == 400


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime", "utc+2"])
def test_unknown_time_zones_are_refused(tz: str) -> None:
    with pytest.raises(InvalidScheduleExpression, match="use an IANA time zone name"):
        parse_schedule("rate(5 minutes)", timezone=tz)


def test_no_time_past_2199_is_ever_computed() -> None:
    """After the last instant a cron can name there is no next one (not an overflow of the
    date arithmetic: a StartDate of 1e12, say, reached here before it was bounded)."""
    cron = parse_schedule("cron(0 12 * * ? *)", timezone="America/New_York")
    assert next_fire(cron, _epoch("2199-12-31T11:00:00", "America/New_York")) == _epoch(
        "2199-12-31T12:00:00", "America/New_York"
    )
    assert next_fire(cron, _epoch("2199-12-31T12:00:00", "America/New_York")) is None
    assert next_fire(cron, 253_402_318_799.0) is None  # 9999-12-31T23:59:59-05:00
    assert next_fire(cron, 1e12) is None
    assert next_fire(cron, -1e12) == _epoch("1970-01-01T12:00:00", "America/New_York")
