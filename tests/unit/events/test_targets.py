"""PutTargets' rules: malformed targets fail the request in AWS's words; well-formed ones
Nimbus cannot deliver to fail alone."""

from __future__ import annotations

import pytest

from nimbus.errors import EventsValidationError
from nimbus.events.targets import partition
from nimbus.model.eventbridge import InputTransformer, Target

FN = "arn:aws:lambda:us-east-1:000000000000:function:fn"
Q = "arn:aws:sqs:us-east-1:000000000000:q"


def split(*targets: Target) -> tuple[list[str], list[tuple[str, str]]]:
    accepted, failed = partition(targets, region="us-east-1", account="000000000000")
    return [t.id for t in accepted], [(f.target_id, f.message) for f in failed]


def test_functions_queues_and_topics_of_this_region_and_account_are_put() -> None:
    accepted, failed = split(
        Target(id="a", arn=FN),
        Target(id="b", arn=f"{FN}:live"),
        Target(id="c", arn=Q, dead_letter_arn=Q),
        Target(id="d", arn="arn:aws:sns:us-east-1:000000000000:t"),
        Target(id="e", arn="arn:aws:kinesis:us-east-1:000000000000:stream/s"),
        Target(id="f", arn="arn:aws:sqs:eu-west-1:000000000000:q"),
        Target(id="g", arn=Q, dead_letter_arn="arn:aws:sqs:us-east-1:111111111111:dlq"),
    )
    assert accepted == ["a", "b", "c", "d"]
    assert [i for i, _ in failed] == ["e", "f", "g"]
    assert "Nimbus delivers to a Lambda function" in failed[0][1]
    assert "region us-east-1 and account 000000000000" in failed[1][1]
    assert "dead-letter queue" in failed[2][1]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            Target(id="t", arn="queue"),
            "Parameter queue is not valid. Reason: Provided Arn is not in correct format.",
        ),
        (
            Target(id="t", arn=Q, input="{}", input_path="$"),
            "Only one of Input, InputPath, or InputTransformer must be provided for target t.",
        ),
        (
            Target(id="t", arn=Q, input_path="$", input_transformer=InputTransformer(template="1")),
            "Only one of Input, InputPath, or InputTransformer must be provided for target t.",
        ),
        (
            Target(
                id="t",
                arn=Q,
                input_transformer=InputTransformer(template='"<x> <y>"', paths={"x": "$.a"}),
            ),
            "InputTemplate for target t contains invalid placeholder y.",
        ),
        (Target(id="t", arn=Q, input="{not json"), "Input for target t is not valid JSON"),
        (Target(id="t", arn=Q, input_path="detail"), "InputPath for target t is not valid"),
        (
            Target(
                id="t",
                arn=Q,
                input_transformer=InputTransformer(template="1", paths={"AWS.x": "$"}),
            ),
            "has an invalid key 'AWS.x'",
        ),
        (
            Target(id="t", arn=Q, dead_letter_arn="arn:aws:sns:us-east-1:000000000000:t"),
            "it must be an SQS queue's ARN",
        ),
    ],
)
def test_a_malformed_target_fails_the_request(target: Target, message: str) -> None:
    with pytest.raises(EventsValidationError) as err:
        split(Target(id="ok", arn=Q), target)
    assert message in err.value.message


def test_predefined_placeholders_need_no_path() -> None:
    template = '"<aws.events.rule-arn> <aws.events.event.json>"'
    assert split(Target(id="t", arn=Q, input_transformer=InputTransformer(template=template)))[0]


def test_targets_of_another_partition_fail_alone() -> None:
    """Delivery finds a queue or topic by its name: ``arn:aws-cn:sqs:...:q`` would reach this
    endpoint's ``q`` while the gate authorized ``sqs:SendMessage`` on another ARN."""
    other = Q.replace("arn:aws:", "arn:aws-cn:")
    accepted, failed = split(
        Target(id="a", arn=other),
        Target(id="b", arn=FN.replace("arn:aws:", "arn:aws-x:")),
        Target(id="c", arn=Q, dead_letter_arn=other),
        Target(id="d", arn=Q, dead_letter_arn=Q),
    )
    assert accepted == ["d"]
    assert [i for i, _ in failed] == ["a", "b", "c"]
    assert "this endpoint serves partition aws" in failed[0][1]
    assert "dead-letter queue" in failed[2][1] and "(aws, us-east-1, 000000000000)" in failed[2][1]
