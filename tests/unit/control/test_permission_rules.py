"""AddPermission's statement as AWS writes it, and the policy document's rules, with
literal inputs."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from nimbus.control import permission_rules as rules
from nimbus.errors import (
    InvalidParameterValueError,
    PolicyLengthExceededError,
    ResourceConflictError,
    ResourceNotFoundError,
    ValidationError,
)

FN = "arn:aws:lambda:us-east-1:000000000000:function:f"


def body(**extra: Any) -> dict[str, Any]:
    return {
        "StatementId": "s1",
        "Action": "lambda:InvokeFunction",
        "Principal": "sns.amazonaws.com",
        **extra,
    }


def test_a_service_principal_with_a_source_arn_is_written_as_aws_documents_it() -> None:
    built = rules.statement(body(SourceArn="arn:aws:sns:us-east-1:000000000000:t"), FN)
    # The exact text `aws lambda add-permission` documents, key order included.
    assert orjson.dumps(built).decode() == (
        '{"Sid":"s1","Effect":"Allow","Principal":{"Service":"sns.amazonaws.com"},'
        '"Action":"lambda:InvokeFunction","Resource":"arn:aws:lambda:us-east-1:000000000000:'
        'function:f","Condition":{"ArnLike":{"AWS:SourceArn":'
        '"arn:aws:sns:us-east-1:000000000000:t"}}}'
    )


@pytest.mark.parametrize(
    ("principal", "element"),
    [
        ("123456789012", {"AWS": "arn:aws:iam::123456789012:root"}),
        ("arn:aws:iam::123456789012:role/r", {"AWS": "arn:aws:iam::123456789012:role/r"}),
        ("arn:aws:iam::123456789012:user/u", {"AWS": "arn:aws:iam::123456789012:user/u"}),
        ("*", "*"),
        ("s3.amazonaws.com", {"Service": "s3.amazonaws.com"}),
    ],
)
def test_principals_take_the_form_aws_gives_them(principal: str, element: object) -> None:
    assert rules.statement(body(Principal=principal), FN)["Principal"] == element


def test_every_condition_parameter_maps_to_its_condition_key() -> None:
    built = rules.statement(
        body(
            Principal="*",
            Action="lambda:InvokeFunctionUrl",
            SourceArn="arn:aws:s3:::bucket",
            SourceAccount="123456789012",
            PrincipalOrgID="o-abcdefghij",
            FunctionUrlAuthType="NONE",
            InvokedViaFunctionUrl=True,
        ),
        FN,
    )
    assert built["Condition"] == {
        "StringEquals": {
            "lambda:FunctionUrlAuthType": "NONE",
            "aws:PrincipalOrgID": "o-abcdefghij",
            "AWS:SourceAccount": "123456789012",
        },
        "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"},
        "Bool": {"lambda:InvokedViaFunctionUrl": "true"},
    }


def test_no_condition_parameters_means_no_condition() -> None:
    assert "Condition" not in rules.statement(body(), FN)


def test_an_unknown_principal_form_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameterValueError, match="The provided principal was invalid"):
        rules.statement(body(Principal="bob"), FN)


@pytest.mark.parametrize(
    ("field", "value", "where"),
    [
        ("Action", "s3:GetObject", "'action'"),
        ("Action", "lambda:Invoke-Function", "'action'"),
        ("StatementId", "has space", "'statementId'"),
        ("StatementId", "x" * 101, "'statementId'"),
        ("Principal", "a b", "'principal'"),
        ("SourceAccount", "12", "'sourceAccount'"),
        ("SourceArn", "not-an-arn", "'sourceArn'"),
        ("PrincipalOrgID", "org-1", "'principalOrgID'"),
        ("FunctionUrlAuthType", "BASIC", "'functionUrlAuthType'"),
    ],
)
def test_values_outside_the_models_patterns_are_validation_errors(
    field: str, value: str, where: str
) -> None:
    with pytest.raises(ValidationError, match=where):
        rules.statement(body(**{field: value}), FN)


def test_several_bad_values_are_reported_together() -> None:
    with pytest.raises(ValidationError, match=r"^2 validation errors detected"):
        rules.statement(body(Action="x", StatementId="a b"), FN)


def test_latest_cannot_have_its_own_policy_but_reads_of_it_mean_the_function() -> None:
    with pytest.raises(InvalidParameterValueError, match="adding policies for \\$LATEST"):
        rules.add_qualifier("$LATEST")
    assert rules.add_qualifier(None) == ""
    assert rules.add_qualifier("prod") == "prod"
    assert rules.read_qualifier("$LATEST") == ""
    assert rules.read_qualifier("7") == "7"
    with pytest.raises(ValidationError):
        rules.read_qualifier("bad qualifier")


def test_a_duplicate_sid_is_the_409_aws_words() -> None:
    first = rules.with_statement(None, rules.statement(body(), FN))
    assert first["Version"] == "2012-10-17" and first["Id"] == "default"
    with pytest.raises(ResourceConflictError) as exc:
        rules.with_statement(first, rules.statement(body(), FN))
    assert exc.value.message == (
        "The statement id (s1) provided already exists. Please provide a new statement id, "
        "or remove the existing statement."
    )


def test_removing_the_last_statement_leaves_no_policy() -> None:
    one = rules.with_statement(None, rules.statement(body(), FN))
    two = rules.with_statement(one, rules.statement(body(StatementId="s2"), FN))
    left = rules.without_statement(two, "s1")
    assert left is not None and rules.sids(left) == ["s2"]
    assert rules.without_statement(left, "s2") is None
    with pytest.raises(ResourceNotFoundError, match="Statement s9 is not found"):
        rules.without_statement(two, "s9")


def test_a_policy_over_20_kb_is_refused() -> None:
    document = rules.empty_document()
    for n in range(200):
        document = rules.with_statement(document, rules.statement(body(StatementId=f"s{n}"), FN))
    with pytest.raises(PolicyLengthExceededError):
        rules.serialize(document)
    assert len(rules.serialize(rules.empty_document())) < rules.MAX_POLICY_BYTES


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[1]",
        '{"Version": "2012-10-17"}',
        '{"Statement": []}',
        '{"Statement": [1]}',
        '{"Statement": [{"Sid": "a"}, {"Sid": "a"}]}',
    ],
)
def test_put_resource_policy_documents_must_be_policies(text: str) -> None:
    with pytest.raises(InvalidParameterValueError):
        rules.parse_document(text)


def test_put_resource_policy_takes_a_single_statement_object_too() -> None:
    document = rules.parse_document('{"Version":"2012-10-17","Statement":{"Sid":"a"}}')
    assert rules.sids(document) == ["a"]
    with pytest.raises(PolicyLengthExceededError):
        rules.parse_document('{"Statement": [{"Sid": "' + "a" * 21_000 + '"}]}')
