"""PutRule's rules: a pattern or a schedule, schedules only on the default bus and only
rate()/cron(), patterns in Ruler's words — each as AWS answers it."""

from __future__ import annotations

import pytest

from nimbus.errors import EventsValidationError, InvalidEventPatternError, NimbusError
from nimbus.events.rule_config import compile_rule
from nimbus.events.schedule_expression import CronSchedule, RateSchedule
from nimbus.model.eventbridge import Rule


def rule(**settings: object) -> Rule:
    return Rule(name="r", created_at=0.0, modified_at=0.0, **settings)  # type: ignore[arg-type]


def test_a_pattern_and_a_schedule_are_compiled() -> None:
    compiled = compile_rule(rule(bus="default", event_pattern='{"source": ["a"]}'))
    assert compiled.pattern is not None and compiled.schedule is None
    rate = compile_rule(rule(bus="default", schedule_expression="rate(5 minutes)")).schedule
    assert isinstance(rate, RateSchedule) and rate.period_s == 300
    cron = compile_rule(rule(bus="default", schedule_expression="cron(0 12 * * ? *)")).schedule
    assert isinstance(cron, CronSchedule)


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        (
            {"bus": "default"},
            EventsValidationError,
            "Parameter(s) EventPattern or ScheduleExpression must be specified.",
        ),
        (
            {"bus": "orders", "schedule_expression": "rate(1 minute)"},
            EventsValidationError,
            "ScheduleExpression is supported only on the default event bus.",
        ),
        (
            {"bus": "default", "schedule_expression": "at(2030-01-01T00:00:00)"},
            EventsValidationError,
            "Parameter ScheduleExpression is not valid.",
        ),
        (
            {"bus": "default", "schedule_expression": "rate(1 minutes)"},
            EventsValidationError,
            "Parameter ScheduleExpression is not valid.",
        ),
        (
            {"bus": "default", "schedule_expression": "cron(0 12 * * *)"},
            EventsValidationError,
            "Parameter ScheduleExpression is not valid.",
        ),
        (
            {"bus": "default", "event_pattern": '{"source": "a"}'},
            InvalidEventPatternError,
            "Event pattern is not valid. Reason: ",
        ),
        (
            {"bus": "default", "event_pattern": "[]"},
            InvalidEventPatternError,
            "Event pattern is not valid. Reason: ",
        ),
    ],
)
def test_what_put_rule_refuses(
    settings: dict[str, str], error: type[NimbusError], message: str
) -> None:
    with pytest.raises(error) as err:
        compile_rule(rule(**settings))
    assert err.value.message.startswith(message)
    assert err.value.status == 400
