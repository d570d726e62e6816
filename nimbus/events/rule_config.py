"""PutRule's rules (pure): what a rule must have, and its pattern and schedule compiled once.

AWS's words (LocalStack's AWS-validated snapshots, and EventBridge's API reference):

- "Parameter(s) EventPattern or ScheduleExpression must be specified." (ValidationException)
- "ScheduleExpression is supported only on the default event bus."
- "Parameter ScheduleExpression is not valid." — for anything but ``rate(value unit)`` and
  six-field ``cron(...)`` (rules have no ``at()``: that is EventBridge Scheduler's); Nimbus
  says why after it.
- "Event pattern is not valid. Reason: <Ruler's reason>" (InvalidEventPatternException).
"""

from __future__ import annotations

from dataclasses import dataclass

from nimbus.errors import EventsValidationError, InvalidEventPatternError
from nimbus.events.event_pattern import EventPattern, InvalidEventPattern, parse_pattern
from nimbus.events.schedule_expression import (
    InvalidScheduleExpression,
    Schedule,
    parse_schedule,
)
from nimbus.model.eventbridge import DEFAULT_BUS, Rule


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule with its pattern and schedule parsed (what matching and firing use)."""

    rule: Rule
    pattern: EventPattern | None
    schedule: Schedule | None


def compile_pattern(text: str) -> EventPattern:
    try:
        return parse_pattern(text)
    except InvalidEventPattern as err:
        raise InvalidEventPatternError(f"Event pattern is not valid. Reason: {err}") from None


def compile_schedule(expression: str) -> Schedule:
    invalid = "Parameter ScheduleExpression is not valid."
    if not expression.startswith(("rate(", "cron(")):
        raise EventsValidationError(
            f"{invalid} Use rate(value unit), e.g. rate(5 minutes), or cron(minutes hours "
            "day-of-month month day-of-week year), e.g. cron(0 12 * * ? *)."
        )
    try:
        return parse_schedule(expression)
    except InvalidScheduleExpression as err:
        raise EventsValidationError(f"{invalid} {err.message}") from None


def compile_rule(rule: Rule) -> CompiledRule:
    """``rule`` checked and compiled; raises EventsValidationError or
    InvalidEventPatternError as PutRule answers."""
    if rule.event_pattern is None and rule.schedule_expression is None:
        raise EventsValidationError(
            "Parameter(s) EventPattern or ScheduleExpression must be specified."
        )
    schedule = None
    if rule.schedule_expression is not None:
        if rule.bus != DEFAULT_BUS:
            raise EventsValidationError(
                "ScheduleExpression is supported only on the default event bus."
            )
        schedule = compile_schedule(rule.schedule_expression)
    pattern = compile_pattern(rule.event_pattern) if rule.event_pattern is not None else None
    return CompiledRule(rule=rule, pattern=pattern, schedule=schedule)
