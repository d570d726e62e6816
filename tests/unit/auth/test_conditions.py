"""IAM's condition operators with literal Condition blocks and request contexts."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from nimbus.auth.conditions import all_hold, parse_conditions
from nimbus.auth.wildcards import ContextScalar

ACCT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCT}:orders"


def holds(
    block: Mapping[str, object], context: Mapping[str, object], *, variables: bool = True
) -> bool:
    clauses = parse_conditions(block, variables=variables)
    normal: dict[str, tuple[ContextScalar, ...]] = {}
    for key, value in context.items():
        values = value if isinstance(value, list) else [value]
        normal[key.lower()] = tuple(v for v in values if isinstance(v, ContextScalar))
    return all_hold(clauses, normal)


@pytest.mark.parametrize(
    ("operator", "policy", "request_value", "expected"),
    [
        ("StringEquals", "bob", "bob", True),
        ("StringEquals", "bob", "Bob", False),
        ("StringNotEquals", "bob", "alice", True),
        ("StringNotEquals", "bob", "bob", False),
        ("StringEqualsIgnoreCase", "BOB", "bob", True),
        ("StringNotEqualsIgnoreCase", "BOB", "bob", False),
        ("StringNotEqualsIgnoreCase", "BOB", "alice", True),
        ("StringLike", "b*b?", "bobby", True),
        ("StringLike", "b*b?", "bob", False),
        ("StringLike", "b*", "Bob", False),
        ("StringNotLike", "test-*", "prod-api", True),
        ("StringNotLike", "test-*", "test-api", False),
        ("NumericEquals", "10", 10, True),
        ("NumericEquals", "10", "10.0", True),
        ("NumericNotEquals", "10", 11, True),
        ("NumericLessThan", "10", 9.5, True),
        ("NumericLessThan", "10", 10, False),
        ("NumericLessThanEquals", "10", 10, True),
        ("NumericGreaterThan", "10", 10, False),
        ("NumericGreaterThanEquals", "10", 10, True),
        ("NumericEquals", "10", "ten", False),
        ("DateLessThan", "2026-06-01T00:00:00Z", "2026-01-01T00:00:00Z", True),
        ("DateLessThan", "2026-06-01", "2026-06-01T00:00:01Z", False),
        ("DateGreaterThan", "2026-01-01T00:00:00Z", "2026-01-01T00:00:01+00:00", True),
        ("DateGreaterThanEquals", "1767225600", "2026-01-01T00:00:00Z", True),
        ("DateLessThanEquals", "2026-01-01T00:00:00Z", 1767225600, True),
        ("DateEquals", "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z", True),
        ("DateNotEquals", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", True),
        ("DateEquals", "2026-01-01", "yesterday", False),
        ("Bool", "true", True, True),
        ("Bool", "false", True, False),
        ("Bool", True, "TRUE", True),
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", b"BinaryValue", True),
        ("BinaryEquals", "QmluYXJ5VmFsdWU=", b"other", False),
        ("IpAddress", "203.0.113.0/24", "203.0.113.9", True),
        ("IpAddress", "203.0.113.0/24", "198.51.100.1", False),
        ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "not-an-ip", False),
        ("NotIpAddress", "10.0.0.0/8", "192.0.2.1", True),
        ("NotIpAddress", "10.0.0.0/8", "10.3.2.1", False),
        ("ArnEquals", TOPIC, TOPIC, True),
        ("ArnLike", "arn:aws:sns:*:*:ord*", TOPIC, True),
        ("ArnEquals", "arn:aws:sns:*:*:ord*", TOPIC, True),  # AWS: the same as ArnLike
        ("ArnLike", "arn:aws:sns:*:orders", TOPIC, False),  # a wildcard stays in its segment
        ("ArnLike", "arn:aws:sns:*:*:*", "orders", False),  # not an ARN
        ("ArnNotEquals", TOPIC, TOPIC.replace("orders", "other"), True),
        ("ArnNotLike", "arn:aws:sns:*:*:ord*", TOPIC, False),
    ],
)
def test_each_operator(
    operator: str, policy: object, request_value: object, expected: bool
) -> None:
    assert holds({operator: {"k": policy}}, {"k": request_value}) is expected


def test_operator_names_are_read_case_insensitively() -> None:
    assert holds({"stringequals": {"k": "v"}}, {"k": "v"})


def test_keys_are_case_insensitive_values_are_not() -> None:
    assert holds({"StringEquals": {"AWS:SourceAccount": ACCT}}, {"aws:sourceaccount": ACCT})
    assert not holds({"StringEquals": {"aws:SourceArn": TOPIC.upper()}}, {"aws:SourceArn": TOPIC})


def test_values_of_one_key_are_ored() -> None:
    block = {"StringEquals": {"aws:username": ["alice", "bob"]}}
    assert holds(block, {"aws:username": "bob"})
    assert not holds(block, {"aws:username": "carol"})


def test_negated_operators_with_several_values_must_match_none() -> None:
    block = {"StringNotEquals": {"aws:username": ["alice", "bob"]}}
    assert holds(block, {"aws:username": "carol"})
    assert not holds(block, {"aws:username": "bob"})


def test_keys_and_operators_are_anded() -> None:
    block = {
        "StringEquals": {"aws:SourceAccount": ACCT, "aws:username": "bob"},
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"},
    }
    everything = {"aws:SourceAccount": ACCT, "aws:username": "bob", "aws:SourceIp": "10.0.0.1"}
    assert holds(block, everything)
    assert not holds(block, {**everything, "aws:username": "alice"})
    assert not holds(block, {**everything, "aws:SourceIp": "192.0.2.1"})


def test_a_missing_key_fails_positive_operators_and_passes_negated_ones() -> None:
    assert not holds({"StringEquals": {"aws:SourceArn": TOPIC}}, {})
    assert not holds({"ArnLike": {"aws:SourceArn": TOPIC}}, {})
    assert holds({"StringNotEquals": {"aws:SourceArn": TOPIC}}, {})
    assert holds({"ArnNotLike": {"aws:SourceArn": TOPIC}}, {})
    assert not holds({"NumericLessThan": {"k": "1"}}, {})


def test_if_exists_passes_when_the_key_is_missing_and_checks_it_otherwise() -> None:
    block = {"StringEqualsIfExists": {"lambda:FunctionUrlAuthType": "AWS_IAM"}}
    assert holds(block, {})
    assert holds(block, {"lambda:FunctionUrlAuthType": "AWS_IAM"})
    assert not holds(block, {"lambda:FunctionUrlAuthType": "NONE"})
    assert holds({"NumericLessThanIfExists": {"k": "5"}}, {})
    assert holds({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}, {})


def test_null_tests_presence() -> None:
    assert holds({"Null": {"aws:username": "true"}}, {})
    assert not holds({"Null": {"aws:username": "true"}}, {"aws:username": "bob"})
    assert holds({"Null": {"aws:username": "false"}}, {"aws:username": "bob"})
    assert not holds({"Null": {"aws:username": False}}, {})
    # A key with no values at all is absent.
    assert holds({"Null": {"aws:TagKeys": "true"}}, {"aws:TagKeys": []})


def test_for_any_value_needs_one_matching_request_value() -> None:
    block = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team", "env"]}}
    assert holds(block, {"aws:TagKeys": ["cost", "env"]})
    assert not holds(block, {"aws:TagKeys": ["cost", "owner"]})
    assert not holds(block, {}), "ForAnyValue is false when the key is missing"


def test_for_all_values_needs_every_request_value_to_match() -> None:
    block = {"ForAllValues:StringLike": {"aws:TagKeys": ["team", "env-*"]}}
    assert holds(block, {"aws:TagKeys": ["team", "env-prod"]})
    assert not holds(block, {"aws:TagKeys": ["team", "owner"]})


def test_for_all_values_is_true_when_the_key_is_missing_or_empty() -> None:
    # AWS's documented trap: pair it with Null false to require the key.
    block: dict[str, object] = {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}
    assert holds(block, {})
    assert holds(block, {"aws:TagKeys": []})
    strict = {**block, "Null": {"aws:TagKeys": "false"}}
    assert not holds(strict, {})


def test_set_operators_with_negated_operators() -> None:
    no_secret = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["secret"]}}
    assert holds(no_secret, {"aws:TagKeys": ["team", "env"]})
    assert not holds(no_secret, {"aws:TagKeys": ["team", "secret"]})
    some_other = {"ForAnyValue:StringNotLike": {"aws:TagKeys": ["team*"]}}
    assert holds(some_other, {"aws:TagKeys": ["team", "env"]})
    assert not holds(some_other, {"aws:TagKeys": ["team-a", "team-b"]})


def test_if_exists_with_a_set_operator() -> None:
    block = {"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "team"}}
    assert holds(block, {})
    assert not holds(block, {"aws:TagKeys": ["env"]})


def test_a_single_valued_operator_on_a_multivalued_key_matches_any_value() -> None:
    assert holds({"StringEquals": {"k": "b"}}, {"k": ["a", "b"]})
    assert not holds({"StringNotEquals": {"k": "b"}}, {"k": ["a", "b"]})


def test_policy_variables_in_condition_values() -> None:
    block = {"StringLike": {"s3:prefix": "home/${aws:username}/*"}}
    assert holds(block, {"aws:username": "bob", "s3:prefix": "home/bob/notes"})
    assert not holds(block, {"aws:username": "bob", "s3:prefix": "home/alice/notes"})
    # Wildcards in the substituted value are literal.
    assert not holds(block, {"aws:username": "*", "s3:prefix": "home/alice/notes"})
    assert not holds(block, {"s3:prefix": "home/bob/notes"}), "no value: no match"
    own = {"StringEquals": {"aws:PrincipalTag/team": "${aws:username}"}}
    assert holds(own, {"aws:username": "bob", "aws:PrincipalTag/team": "bob"})


def test_policy_variable_defaults_and_special_characters() -> None:
    block = {"StringEquals": {"k": "${aws:username, 'nobody'}"}}
    assert holds(block, {"k": "nobody"})
    assert holds(block, {"k": "bob", "aws:username": "bob"})
    assert holds({"StringEquals": {"k": "a${*}b${?}${$}"}}, {"k": "a*b?$"})
    assert not holds({"StringEquals": {"k": "a${*}b"}}, {"k": "axxb"})


def test_variables_in_arn_conditions() -> None:
    block = {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:${aws:PrincipalAccount}:*"}}
    assert holds(block, {"aws:PrincipalAccount": ACCT, "aws:SourceArn": TOPIC})
    assert not holds(block, {"aws:PrincipalAccount": "999988887777", "aws:SourceArn": TOPIC})


def test_variables_are_literal_without_substitution() -> None:
    block = {"StringEquals": {"k": "${aws:username}"}}
    assert holds(block, {"k": "${aws:username}", "aws:username": "bob"}, variables=False)
    assert not holds(block, {"k": "bob", "aws:username": "bob"}, variables=False)


def test_ignore_case_with_like_and_variables() -> None:
    block = {"StringEqualsIgnoreCase": {"k": "Team-${aws:username}"}}
    assert holds(block, {"k": "TEAM-BOB", "aws:username": "bob"})
