from __future__ import annotations

import pytest

from nimbus.errors import (
    AccessDeniedError,
    InvalidParameterValueError,
    ResourceNotFoundError,
    ValidationError,
)
from nimbus.model.arn import (
    Arns,
    FunctionRef,
    merge_qualifier,
    parse_function_ref,
    parse_tagged_function,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("fn", FunctionRef(name="fn")),
        ("fn:prod", FunctionRef(name="fn", qualifier="prod")),
        ("fn:$LATEST", FunctionRef(name="fn", qualifier="$LATEST")),
        ("123456789012:function:fn", FunctionRef(name="fn", account="123456789012")),
        (
            "123456789012:function:fn:7",
            FunctionRef(name="fn", qualifier="7", account="123456789012"),
        ),
        (
            "arn:aws:lambda:eu-west-1:123456789012:function:my_fn-2",
            FunctionRef(name="my_fn-2", region="eu-west-1", account="123456789012"),
        ),
        (
            "arn:aws:lambda:us-east-1:123456789012:function:fn:live",
            FunctionRef(name="fn", qualifier="live", region="us-east-1", account="123456789012"),
        ),
    ],
)
def test_accepted_forms(text: str, expected: FunctionRef) -> None:
    assert parse_function_ref(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "bad name",
        "fn:a:b:c",
        "x" * 65,
        "arn:aws:lambda:us-east-1:12:function:fn",
        "fn:",
        "fn\n",  # `$` alone matches before a trailing newline: names are matched whole
        "fn:live\n",
        "arn:aws:lambda:us-east-1:123456789012:function:fn\n",
    ],
)
def test_rejected_forms(text: str) -> None:
    with pytest.raises(ValidationError):
        parse_function_ref(text)


def test_qualifier_not_allowed_where_unqualified_required() -> None:
    with pytest.raises(InvalidParameterValueError):
        parse_function_ref("fn:1", allow_qualifier=False)


def test_merge_qualifier_conflict_and_agreement() -> None:
    ref = parse_function_ref("fn:1")
    assert merge_qualifier(ref, None) == "1"
    assert merge_qualifier(ref, "1") == "1"
    assert merge_qualifier(parse_function_ref("fn"), "prod") == "prod"
    with pytest.raises(InvalidParameterValueError):
        merge_qualifier(ref, "2")


def test_arns_and_owner_check() -> None:
    arns = Arns(region="us-east-1", account="000000000000")
    assert arns.function("fn") == "arn:aws:lambda:us-east-1:000000000000:function:fn"
    assert arns.function("fn", "3").endswith(":function:fn:3")
    assert arns.layer_version("l", 2) == "arn:aws:lambda:us-east-1:000000000000:layer:l:2"
    arns.check_owner(parse_function_ref("fn"))
    arns.check_owner(parse_function_ref("arn:aws:lambda:us-east-1:000000000000:function:fn"))


def test_another_account_is_access_denied_another_region_not_found() -> None:
    arns = Arns(region="us-east-1", account="000000000000")
    with pytest.raises(AccessDeniedError):
        arns.check_owner(parse_function_ref("111111111111:function:fn"))
    with pytest.raises(AccessDeniedError):
        arns.check_owner(parse_function_ref("arn:aws:lambda:us-east-1:111111111111:function:fn"))
    with pytest.raises(ResourceNotFoundError) as exc:
        arns.check_owner(parse_function_ref("arn:aws:lambda:eu-west-1:000000000000:function:fn"))
    assert exc.value.message == (
        "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
    )


def test_tagged_function_is_an_unqualified_full_function_arn() -> None:
    ref = parse_tagged_function("arn:aws:lambda:us-east-1:000000000000:function:fn")
    assert ref == FunctionRef(name="fn", region="us-east-1", account="000000000000")
    for qualifier in ("1", "live", "$LATEST"):
        with pytest.raises(InvalidParameterValueError) as exc:
            parse_tagged_function(f"arn:aws:lambda:us-east-1:000000000000:function:fn:{qualifier}")
        assert exc.value.message.startswith("Tags on function aliases and versions")
    for text in (
        "fn",
        "000000000000:function:fn",
        "arn:aws:lambda:us-east-1:000000000000:layer:fn",
        "arn:aws:lambda:us-east-1:000000000000:function:fn\n",
        "arn:aws:lambda:us-east-1:000000000000:function:" + "x" * 65,
    ):
        with pytest.raises(ValidationError):
            parse_tagged_function(text)
