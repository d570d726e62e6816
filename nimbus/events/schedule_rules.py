"""EventBridge Scheduler's rules for a schedule's settings, and the timer spec a schedule
runs on: pure functions over values (the wire's shapes and the model's patterns are checked
before, in ``frontend/scheduler_wire.py``).

- The expression is parsed in the schedule's time zone (``ScheduleExpressionTimezone``,
  UTC when absent); a bad one is a ValidationException saying what is wrong.
- ``StartDate`` and ``EndDate`` are within the years a cron expression may name,
  1970-2199 (as ``at()`` is): a date past them could never be reached, and would overflow
  the date arithmetic of the first tick.
- ``EndDate`` must be after ``StartDate``, and not in the past (AWS: "The EndDate you
  specify must be in the future"); a one-time schedule's time must not be past either (AWS
  refuses one at create), though one within the current minute is taken (Scheduler's
  precision is a minute) and fires at once.
- The target is a Lambda function (maybe qualified), a queue or a topic of this region and
  account: the templated targets Nimbus has; the dead-letter queue is a queue of this region
  and account too. Every ARN is in partition ``aws``, Nimbus's one: delivery finds a queue or
  topic by its name, so ``arn:aws-cn:sqs:...:q`` would reach ``arn:aws:sqs:...:q`` while
  the gate authorized another ARN. Scheduler does not check at create time that the target
  exists (a missing one fails each delivery, and goes to the dead-letter queue).
- StartDate and EndDate bound recurring schedules only; one-time schedules ignore them.
"""

from __future__ import annotations

from datetime import UTC, datetime

from nimbus.errors import NimbusError, ValidationError
from nimbus.events.schedule_delivery import target_service
from nimbus.events.schedule_expression import (
    FIRST_EPOCH_S,
    LAST_EPOCH_S,
    AtSchedule,
    RateSchedule,
    Schedule,
    parse_schedule,
)
from nimbus.events.timer import TimerSpec, arm
from nimbus.model.arn import parse_function_ref
from nimbus.model.schedule import ScheduleConfig, ScheduleSettings

TARGET_SERVICES = ("lambda", "sqs", "sns")


def expression_of(settings: ScheduleSettings) -> Schedule:
    return parse_schedule(settings.expression, timezone=settings.timezone or "UTC")


def check(settings: ScheduleSettings, *, now: float, region: str, account: str) -> Schedule:
    """The parsed expression of valid settings; raises ValidationError saying what to fix."""
    schedule = expression_of(settings)
    start, end = settings.start_date, settings.end_date
    _check_date("StartDate", start)
    _check_date("EndDate", end)
    if start is not None and end is not None and end <= start:
        raise ValidationError("The EndDate must be later than the StartDate.")
    if end is not None and end <= now:
        raise ValidationError("The EndDate you specify must be in the future.")
    if isinstance(schedule, AtSchedule) and schedule.at_s < now - now % 60:
        raise ValidationError(
            f"Invalid Schedule Expression {settings.expression}: the time of a one-time "
            f"schedule must be in the future."
        )
    _check_target(settings.target.arn, region=region, account=account)
    _check_partition("RoleArn", settings.target.role_arn)
    dead_letter = settings.target.dead_letter_arn
    if dead_letter is not None:
        _check_partition("DeadLetterConfig.Arn", dead_letter)
        if dead_letter.split(":")[3:5] != [region, account]:
            raise ValidationError(
                f"Invalid DeadLetterConfig.Arn {dead_letter}: the dead-letter queue must be in "
                f"region {region} and account {account}."
            )
    return schedule


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_date(member: str, value: float | None) -> None:
    # `not (a <= v <= b)` refuses NaN too.
    if value is not None and not FIRST_EPOCH_S <= value <= LAST_EPOCH_S:
        raise ValidationError(
            f"Invalid {member} {value!r}: a date must be between {_iso(FIRST_EPOCH_S)} and "
            f"{_iso(LAST_EPOCH_S)} (epoch seconds {FIRST_EPOCH_S:.0f} to {LAST_EPOCH_S:.0f})."
        )


def _check_partition(member: str, arn: str) -> None:
    if arn.split(":")[1:2] != ["aws"]:
        raise ValidationError(
            f"Invalid {member} {arn}: Nimbus serves partition aws only (arn:aws:...)."
        )


def _check_target(arn: str, *, region: str, account: str) -> None:
    service = target_service(arn)
    if service not in TARGET_SERVICES:
        raise ValidationError(
            f"Invalid target ARN {arn}: Nimbus delivers to Lambda functions, SQS queues and "
            f"SNS topics (arn:aws:lambda:...:function:..., arn:aws:sqs:..., arn:aws:sns:...)."
        )
    _check_partition("target ARN", arn)
    parts = arn.split(":")
    if (parts[3], parts[4]) != (region, account):
        raise ValidationError(
            f"Invalid target ARN {arn}: the target must be in region {region} and account "
            f"{account}."
        )
    if service == "lambda":
        try:
            parse_function_ref(arn)
        except NimbusError:
            raise ValidationError(
                f"Invalid target ARN {arn}: a function's ARN is "
                f"arn:aws:lambda:{region}:{account}:function:<name>[:<version or alias>]."
            ) from None
    elif len(parts) != 6 or not parts[5]:
        raise ValidationError(
            f"Invalid target ARN {arn}: expected arn:aws:{service}:{region}:{account}:<name>."
        )


def armed_spec(config: ScheduleConfig, schedule: Schedule, *, now: float) -> TimerSpec:
    """``timer_spec``, its first tick computed (and dropped) as the timer will: a schedule
    whose first tick cannot be computed is refused before it is stored, never stored and
    then failed on (the bounds above make this a last line, not the rule)."""
    spec = timer_spec(config, schedule)
    try:
        arm(spec, last_fired=None, now=now)
    except (ValueError, OverflowError) as err:
        raise ValidationError(
            f"Invalid schedule: its first invocation cannot be computed ({err}); check "
            f"ScheduleExpression, StartDate and EndDate."
        ) from None
    return spec


def timer_spec(config: ScheduleConfig, schedule: Schedule) -> TimerSpec:
    """What the timer runs for an enabled schedule. No tick from before the schedule's
    creation or last change fires; a rate schedule's ticks count from its StartDate, else
    from that change, and it fires at once when it has no StartDate (Scheduler user guide:
    "If you do not provide a StartDate for a rate-based schedule, your schedule starts
    invoking the target immediately")."""
    s = config.settings
    start = s.start_date
    not_before = config.modified if start is None else max(start, config.modified)
    return TimerSpec(
        schedule=schedule,
        not_before=not_before,
        end=s.end_date,
        anchor=(start if start is not None else config.modified)
        if isinstance(schedule, RateSchedule)
        else None,
        window_s=60.0 * (s.window_minutes or 0),
    )
