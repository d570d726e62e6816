"""Parsing policy documents as IAM validates them: what is accepted, what is refused and with
which of IAM's messages (MalformedPolicyDocument)."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from nimbus.auth.policy import MalformedPolicyError, PolicyKind, parse_policy

V = "2012-10-17"


def doc(*statements: Mapping[str, object], version: str | None = V) -> dict[str, object]:
    out: dict[str, object] = {"Statement": list(statements)}
    if version is not None:
        out["Version"] = version
    return out


def refused(document: object, kind: PolicyKind = "identity") -> str:
    with pytest.raises(MalformedPolicyError) as err:
        parse_policy(document if isinstance(document, str) else json.dumps(document), kind)
    return err.value.message


ALLOW = {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"}


def test_a_minimal_identity_policy_parses_with_its_parts() -> None:
    policy = parse_policy(json.dumps(doc({**ALLOW, "Sid": "Read"})))
    assert policy.version == V
    assert [s.sid for s in policy.statements] == ["Read"]
    assert policy.statements[0].effect == "Allow"


def test_statement_may_be_a_single_object_and_mappings_are_accepted() -> None:
    policy = parse_policy({"Version": V, "Statement": ALLOW})
    assert len(policy.statements) == 1


def test_both_versions_are_accepted_and_a_missing_one_reads_as_2008() -> None:
    assert parse_policy(doc(ALLOW, version="2008-10-17")).version == "2008-10-17"
    assert parse_policy(doc(ALLOW, version=None)).version == ""


def test_managed_policies_can_require_the_2012_version() -> None:
    with pytest.raises(MalformedPolicyError) as err:
        parse_policy(doc(ALLOW, version="2008-10-17"), require_version_2012=True)
    assert err.value.message == "Policy document must be version 2012-10-17 or greater."


@pytest.mark.parametrize(
    "document",
    [
        "{not json",
        "[]",
        json.dumps({"Version": "2013-01-01", "Statement": [ALLOW]}),
        json.dumps({"Version": V}),
        json.dumps({"Version": V, "Statement": []}),
        json.dumps({"Version": V, "Statement": "x"}),
        json.dumps({"Version": V, "Statement": [ALLOW], "Extra": 1}),
        json.dumps(doc({**ALLOW, "Actions": "x"})),
        json.dumps(doc({"Action": "lambda:*", "Resource": "*"})),
        json.dumps(doc({**ALLOW, "Effect": "Permit"})),
        json.dumps(doc({**ALLOW, "NotAction": "lambda:*"})),
        json.dumps(doc({**ALLOW, "NotResource": "*"})),
        json.dumps(doc({**ALLOW, "Action": ["lambda:GetFunction", 3]})),
        json.dumps(doc({**ALLOW, "Sid": 7})),
        json.dumps(doc({**ALLOW, "Condition": "x"})),
    ],
)
def test_structural_errors_are_syntax_errors(document: str) -> None:
    assert refused(document).startswith("Syntax errors in policy.")


def test_syntax_errors_say_what_to_fix() -> None:
    assert "not valid JSON" in refused("{")
    assert "'Actions'" in refused(doc({**ALLOW, "Actions": "x"}))
    assert "Unknown condition operator 'StringEqualz'" in refused(
        doc({**ALLOW, "Condition": {"StringEqualz": {"aws:username": "bob"}}})
    )


def test_effect_is_case_sensitive_as_iam_legacy_parsing_is() -> None:
    assert refused(doc({**ALLOW, "Effect": "allow"})) == "The policy failed legacy parsing"


def test_identity_policies_refuse_principals() -> None:
    for element in ("Principal", "NotPrincipal"):
        message = refused(doc({**ALLOW, element: "*"}))
        assert message == "Policy document should not specify a principal."


def test_actions_and_resources_are_required_in_identity_policies() -> None:
    no_action = refused(doc({"Effect": "Allow", "Resource": "*"}))
    assert no_action == "Policy statement must contain actions."
    empty_action = refused(doc({"Effect": "Allow", "Action": [], "Resource": "*"}))
    assert empty_action == "Policy statement must contain actions."
    no_resource = refused(doc({"Effect": "Allow", "Action": "lambda:*"}))
    assert no_resource == "Policy statement must contain resources."


def test_actions_need_a_vendor_and_one_colon() -> None:
    vendor = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
    assert refused(doc({**ALLOW, "Action": "GetFunction"})) == vendor
    assert refused(doc({**ALLOW, "Action": "lambda:Get:Function"})) == (
        "Actions/Condition can contain only one colon."
    )
    assert refused(doc({**ALLOW, "Action": "lam bda:Get"})) == "Vendor lam bda is not valid"


def test_resources_must_be_arns_or_star() -> None:
    assert refused(doc({**ALLOW, "Resource": "my-function"})) == (
        'Resource my-function must be in ARN format or "*".'
    )


def test_sids_must_be_unique() -> None:
    message = refused(doc({**ALLOW, "Sid": "A"}, {**ALLOW, "Sid": "A"}))
    assert message == "Statement IDs (SID) in a single policy must be unique."


def test_resource_policies_need_a_principal_but_not_a_resource() -> None:
    statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction"}
    assert refused(doc(statement), "resource") == "Missing required field Principal."
    policy = parse_policy(
        doc({**statement, "Principal": {"Service": "sns.amazonaws.com"}}), "resource"
    )
    assert policy.statements[0].resources is None


def test_trust_policies_need_a_principal_and_prohibit_resources() -> None:
    trust = {
        "Effect": "Allow",
        "Action": "sts:AssumeRole",
        "Principal": {"Service": "lambda.amazonaws.com"},
    }
    parse_policy(doc(trust), "trust")
    assert refused(doc({**trust, "Resource": "*"}), "trust") == "Has prohibited field Resource."


@pytest.mark.parametrize(
    "principal",
    [
        "*",
        {"AWS": "*"},
        {"AWS": "123456789012"},
        {"AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::123456789012:user/bob"]},
        {"AWS": "arn:aws:iam::123456789012:role/path/app"},
        {"AWS": "arn:aws:sts::123456789012:assumed-role/app/session-1"},
        {"Service": ["sns.amazonaws.com", "s3.amazonaws.com"]},
        {"Federated": "cognito-identity.amazonaws.com"},
    ],
)
def test_principal_forms_iam_accepts(principal: object) -> None:
    parse_policy(doc({**ALLOW, "Principal": principal}), "resource")


@pytest.mark.parametrize(
    ("principal", "message"),
    [
        ({"AWS": "bob"}, 'Invalid principal in policy: "AWS": "bob"'),
        (
            {"AWS": "arn:aws:iam::123456789012:user/*"},
            'Invalid principal in policy: "AWS": "arn:aws:iam::123456789012:user/*"',
        ),
        ({"Lambda": "x"}, 'Invalid principal in policy: "Lambda": "x"'),
        ({"AWS": []}, 'Invalid principal in policy: "AWS": []'),
    ],
)
def test_invalid_principals_are_named(principal: object, message: str) -> None:
    assert refused(doc({**ALLOW, "Principal": principal}), "resource") == message


def test_principal_must_be_star_or_an_object() -> None:
    assert refused(doc({**ALLOW, "Principal": "bob"}), "resource").startswith(
        "Syntax errors in policy."
    )


@pytest.mark.parametrize(
    "condition",
    [
        {"NumericLessThan": {"s3:max-keys": "ten"}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}},
        {"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}},
        {"NullIfExists": {"aws:username": "true"}},
        {"StringEquals": "bob"},
        {"StringEquals": {"aws:username": {"nested": 1}}},
    ],
)
def test_condition_values_are_checked_when_stored(condition: object) -> None:
    assert refused(doc({**ALLOW, "Condition": condition})).startswith("Syntax errors in policy.")


def test_an_unreadable_date_fails_legacy_parsing() -> None:
    message = refused(doc({**ALLOW, "Condition": {"DateLessThan": {"aws:CurrentTime": "soon"}}}))
    assert message == "The policy failed legacy parsing"
