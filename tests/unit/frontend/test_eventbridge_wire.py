"""EventBridge's members read against botocore's model, in AWS's words, and paging."""

from __future__ import annotations

from typing import Any

import pytest

from nimbus.errors import EventsValidationError, SerializationError
from nimbus.frontend.eventbridge_wire import (
    RULE_NAME,
    Members,
    page,
    rule_name,
    target_json,
    targets_member,
)
from nimbus.model.eventbridge import InputTransformer, RetryPolicy, Target


def test_every_broken_constraint_is_listed_at_its_wire_path() -> None:
    m = Members({"Name": "x" * 65 + "!", "Rule": None})
    rule_name(m)
    m.string("State", enum=("ENABLED", "DISABLED"))
    rule_name(m, "Rule")
    with pytest.raises(EventsValidationError) as err:
        m.done()
    assert err.value.message == (
        f"3 validation errors detected: Value '{'x' * 65}!' at 'name' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {RULE_NAME}; "
        f"Value '{'x' * 65}!' at 'name' failed to satisfy constraint: Member must have length "
        "less than or equal to 64; Value null at 'rule' failed to satisfy constraint: Member "
        "must not be null"
    )


def test_a_target_id_is_named_by_its_position() -> None:
    m = Members({"Targets": [{"Id": "ok", "Arn": "a"}, {"Id": "!@#", "Arn": "a"}]})
    targets_member(m)
    with pytest.raises(EventsValidationError) as err:
        m.done()
    assert err.value.message == (
        "1 validation error detected: Value '!@#' at 'targets.2.member.id' failed to satisfy "
        f"constraint: Member must satisfy regular expression pattern: {RULE_NAME}"
    )


@pytest.mark.parametrize(
    "params",
    [
        {"Targets": "all"},
        {"Targets": [{"Id": 1, "Arn": "a"}]},
        {"Targets": [{"Id": "t", "Arn": "a", "RetryPolicy": {"MaximumRetryAttempts": "3"}}]},
        {
            "Targets": [
                {
                    "Id": "t",
                    "Arn": "a",
                    "InputTransformer": {"InputTemplate": "1", "InputPathsMap": {"a": 1}},
                }
            ]
        },
    ],
)
def test_a_member_of_the_wrong_type_is_a_serialization_error(params: dict[str, Any]) -> None:
    with pytest.raises(SerializationError):
        targets_member(Members(params))


def test_retry_policy_ranges() -> None:
    m = Members(
        {
            "Targets": [
                {
                    "Id": "t",
                    "Arn": "a",
                    "RetryPolicy": {"MaximumRetryAttempts": 186, "MaximumEventAgeInSeconds": 59},
                }
            ]
        }
    )
    targets_member(m)
    with pytest.raises(EventsValidationError) as err:
        m.done()
    assert "'targets.1.member.retryPolicy.maximumRetryAttempts'" in err.value.message
    assert "greater than or equal to 60" in err.value.message


def test_a_target_is_echoed_as_it_was_put() -> None:
    target = Target(
        id="t",
        arn="a",
        input_transformer=InputTransformer(template='"<x>"', paths={"x": "$.detail"}),
        retry_policy=RetryPolicy(maximum_event_age_s=60),
        dead_letter_arn="dlq",
    )
    assert target_json(target) == {
        "Id": "t",
        "Arn": "a",
        "InputTransformer": {"InputTemplate": '"<x>"', "InputPathsMap": {"x": "$.detail"}},
        "RetryPolicy": {"MaximumEventAgeInSeconds": 60},
        "DeadLetterConfig": {"Arn": "dlq"},
    }


def test_pages_follow_their_tokens_to_the_end() -> None:
    names = [f"r{i}" for i in range(5)]
    seen, token = [], None
    while True:
        params: dict[str, Any] = {"Limit": 2, **({"NextToken": token} if token else {})}
        chosen, token = page(names, names, Members(params))
        seen += chosen
        if token is None:
            break
    assert seen == names
    with pytest.raises(EventsValidationError, match="NextToken"):
        page(names, names, Members({"NextToken": "%%%"}))
    with pytest.raises(EventsValidationError, match="less than or equal to 100"):
        page(names, names, Members({"Limit": 101}))
