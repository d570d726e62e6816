"""What an operation makes Nimbus do on the caller's behalf needs the caller's permission too:
PassRole for an execution role, the targets of dead-letter queues, destinations, event source
mappings and topic subscriptions."""

from __future__ import annotations

from nimbus.frontend.implied_access import Check, delivery_action, implied_checks
from nimbus.frontend.operations import Operation

ROLE = "arn:aws:iam::000000000000:role/app"
QUEUE = "arn:aws:sqs:us-east-1:000000000000:jobs"
TOPIC = "arn:aws:sns:us-east-1:000000000000:alerts"
FN = "arn:aws:lambda:us-east-1:000000000000:function:other"


def op(service: str, name: str) -> Operation:
    return Operation(service=service, name=name, action=f"{service}:{name}")


def test_creating_a_function_passes_its_role_and_needs_its_dead_letter_target() -> None:
    checks = implied_checks(
        op("lambda", "CreateFunction"),
        {"Role": ROLE, "DeadLetterConfig": {"TargetArn": TOPIC}},
    )
    assert checks == (
        Check(
            action="iam:PassRole",
            resource=ROLE,
            context={"iam:PassedToService": "lambda.amazonaws.com"},
        ),
        Check(action="sns:Publish", resource=TOPIC),
    )


def test_a_configuration_update_without_a_role_passes_none() -> None:
    assert implied_checks(op("lambda", "UpdateFunctionConfiguration"), {"Timeout": 5}) == ()
    update = implied_checks(op("lambda", "UpdateFunctionConfiguration"), {"Role": ROLE})
    assert [c.action for c in update] == ["iam:PassRole"]


def test_destinations_need_the_action_their_service_takes() -> None:
    checks = implied_checks(
        op("lambda", "PutFunctionEventInvokeConfig"),
        {
            "DestinationConfig": {
                "OnSuccess": {"Destination": FN},
                "OnFailure": {"Destination": QUEUE},
            }
        },
    )
    assert checks == (
        Check(action="lambda:InvokeFunction", resource=FN),
        Check(action="sqs:SendMessage", resource=QUEUE),
    )


def test_a_mapping_needs_to_receive_from_its_queue() -> None:
    checks = implied_checks(
        op("lambda", "CreateEventSourceMapping"), {"EventSourceArn": QUEUE, "FunctionName": "f"}
    )
    assert checks == (Check(action="sqs:ReceiveMessage", resource=QUEUE),)


def test_subscribing_a_function_or_queue_needs_to_deliver_to_it() -> None:
    subscribe = op("sns", "Subscribe")
    lam = implied_checks(subscribe, {"Protocol": "lambda", "Endpoint": FN})
    assert lam == (Check(action="lambda:InvokeFunction", resource=FN),)
    sqs = implied_checks(subscribe, {"Protocol": "sqs", "Endpoint": QUEUE})
    assert sqs == (Check(action="sqs:SendMessage", resource=QUEUE),)
    assert implied_checks(subscribe, {"Protocol": "email", "Endpoint": "a@b.c"}) == ()


def test_malformed_values_are_left_to_the_handler() -> None:
    create = op("lambda", "CreateFunction")
    assert implied_checks(create, {"Role": 7, "DeadLetterConfig": "x"}) == ()
    assert implied_checks(create, {"DeadLetterConfig": {"TargetArn": "not-an-arn"}}) == ()
    assert implied_checks(op("lambda", "GetFunction"), {"Role": ROLE}) == ()
    assert delivery_action("arn:aws:s3:::bucket") is None
    assert delivery_action("arn:aws:events:us-east-1:000000000000:event-bus/default") == (
        "events:PutEvents"
    )


def test_a_schedule_passes_its_role_and_needs_what_the_role_would_do() -> None:
    """Nimbus delivers a schedule's ticks as itself, not as Target.RoleArn: whoever creates
    or updates one must be allowed to pass the role to Scheduler and to do what it would."""
    dlq = "arn:aws:sqs:us-east-1:000000000000:dlq"
    for name in ("CreateSchedule", "UpdateSchedule"):
        checks = implied_checks(
            op("scheduler", name),
            {"Target": {"Arn": FN, "RoleArn": ROLE, "DeadLetterConfig": {"Arn": dlq}}},
        )
        assert checks == (
            Check(
                action="iam:PassRole",
                resource=ROLE,
                context={"iam:PassedToService": "scheduler.amazonaws.com"},
            ),
            Check(action="lambda:InvokeFunction", resource=FN),
            Check(action="sqs:SendMessage", resource=dlq),
        )
    queue = implied_checks(
        op("scheduler", "CreateSchedule"), {"Target": {"Arn": QUEUE, "RoleArn": ROLE}}
    )
    assert [(c.action, c.resource) for c in queue][1:] == [("sqs:SendMessage", QUEUE)]
    topic = implied_checks(op("scheduler", "CreateSchedule"), {"Target": {"Arn": TOPIC}})
    assert topic == (Check(action="sns:Publish", resource=TOPIC),)
    assert implied_checks(op("scheduler", "GetSchedule"), {"Target": {"Arn": FN}}) == ()
    assert implied_checks(op("scheduler", "CreateSchedule"), {"Target": "x"}) == ()


def test_every_arn_is_checked_in_the_one_partition_delivery_reaches() -> None:
    """Delivery finds a queue by its name, so ``arn:aws-x:sqs:...:q`` reaches the queue
    ``arn:aws:sqs:...:q``: the check is on that ARN, where a Deny on it applies."""
    spelled = QUEUE.replace("arn:aws:", "arn:aws-x:")
    role = ROLE.replace("arn:aws:", "arn:aws-cn:")
    schedule = implied_checks(
        op("scheduler", "CreateSchedule"),
        {"Target": {"Arn": spelled, "RoleArn": role, "DeadLetterConfig": {"Arn": spelled}}},
    )
    assert [c.resource for c in schedule] == [ROLE, QUEUE, QUEUE]
    targets = implied_checks(
        op("events", "PutTargets"),
        {
            "Rule": "r",
            "Targets": [{"Id": "a", "Arn": spelled, "DeadLetterConfig": {"Arn": spelled}}],
        },
    )
    assert [c.resource for c in targets] == [QUEUE, QUEUE]
    lam = implied_checks(
        op("lambda", "CreateFunction"),
        {"Role": role, "DeadLetterConfig": {"TargetArn": TOPIC.replace(":aws:", "::")}},
    )
    assert [c.resource for c in lam] == [ROLE, TOPIC]
