from __future__ import annotations

import json

import pytest

from nimbus.control import layer_rules
from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.model.layer import LayerStatement, LayerVersion

ARN = "arn:aws:lambda:us-east-1:000000000000:layer:lib"


def test_layer_name_or_arn() -> None:
    assert layer_rules.layer_name("lib").name == "lib"
    parsed = layer_rules.layer_name(ARN)
    assert (parsed.name, parsed.region, parsed.account) == ("lib", "us-east-1", "000000000000")
    for bad in ("bad name", ARN + ":1", "x" * 141):
        with pytest.raises(ValidationError):
            layer_rules.layer_name(bad)


def test_version_arn() -> None:
    assert layer_rules.version_arn(ARN + ":3").version == 3
    for bad in (ARN, "lib:1", None):
        with pytest.raises(ValidationError):
            layer_rules.version_arn(bad)


def test_version_number() -> None:
    assert layer_rules.version_number("7") == 7
    with pytest.raises(InvalidParameterValueError, match="less than 1"):
        layer_rules.version_number("0")
    with pytest.raises(ValidationError):
        layer_rules.version_number("x")


def test_compatible_lists() -> None:
    assert layer_rules.compatible_runtimes(["python3.11", "python3.11"]) == ("python3.11",)
    assert layer_rules.compatible_architectures(["arm64"]) == ("arm64",)
    with pytest.raises(ValidationError):
        layer_rules.compatible_runtimes(["cobol"])
    with pytest.raises(ValidationError):
        layer_rules.compatible_runtimes(["python3.11"] * 16)
    with pytest.raises(ValidationError):
        layer_rules.compatible_architectures(["sparc"])


def test_statement_rules() -> None:
    good = layer_rules.statement(
        sid="s1", action="lambda:GetLayerVersion", principal="*", organization_id=None
    )
    assert good == LayerStatement(sid="s1", action="lambda:GetLayerVersion", principal="*")
    with pytest.raises(ValidationError, match="action"):
        layer_rules.statement(
            sid="s1", action="lambda:InvokeFunction", principal="*", organization_id=None
        )
    with pytest.raises(ValidationError, match="principal"):
        layer_rules.statement(
            sid="s1", action="lambda:GetLayerVersion", principal="someone", organization_id=None
        )
    with pytest.raises(ValidationError, match="2 validation errors"):
        layer_rules.statement(sid="bad id", action="x", principal="*", organization_id=None)


def test_statement_document_renders_account_principals_as_root_arns() -> None:
    item = LayerStatement(sid="a", action="lambda:GetLayerVersion", principal="123456789012")
    document = layer_rules.statement_document(item, ARN + ":1")
    assert document["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    org = LayerStatement(
        sid="o", action="lambda:GetLayerVersion", principal="*", organization_id="o-abcdefghij"
    )
    rendered = layer_rules.policy_document([item, org], ARN + ":1")
    assert json.loads(json.dumps(rendered))["Statement"][1]["Condition"] == {
        "StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}
    }


def test_layer_version_filters() -> None:
    version = LayerVersion(
        name="lib",
        version=1,
        blob="b",
        code_sha256="s",
        code_size=1,
        unzipped_size=1,
        created_date="d",
        compatible_runtimes=("python3.11",),
        compatible_architectures=("x86_64",),
    )
    assert version.matches(runtime=None, architecture=None)
    assert version.matches(runtime="python3.11", architecture="x86_64")
    assert not version.matches(runtime="python3.12", architecture=None)
    assert not version.matches(runtime=None, architecture="arm64")


@pytest.mark.parametrize("text", ["99999999999999999999999", "²", "1e3", ""])
def test_a_version_number_beyond_a_long_or_in_other_digits_is_no_number(text: str) -> None:
    with pytest.raises(ValidationError):
        layer_rules.version_number(text)
