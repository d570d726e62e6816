"""End to end, against AWS's recorded answers: which FunctionArn each operation reports
(qualified or not), function names that are ARNs of another account or region, all-digit
names, and DeleteFunction with a qualifier.

The expectations come from LocalStack's AWS-validated snapshots
(tests/aws/services/lambda_/test_lambda_api.snapshot.json: test_publish_version_on_create,
test_publish_with_update, test_version_lifecycle, test_function_arns,
test_delete_on_nonexisting_version), recorded against AWS in 2025-11.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import create_function, error_of, make_zip, settle

CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
CODE_2 = make_zip({"app.py": "def handler(event, context):\n    return 2\n"})
CODE_3 = make_zip({"app.py": "def handler(event, context):\n    return 3\n"})
ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def test_create_with_publish_reports_the_unqualified_arn_and_version_1(
    lam: Any, fname: str
) -> None:
    created = create_function(lam, fname, code=CODE, Publish=True)
    assert (created["FunctionArn"], created["Version"]) == (f"{ARN}{fname}", "1")
    # What clients do with it: append a qualifier. That must name version 1.
    settle(lam, fname)
    qualified = lam.get_function_configuration(FunctionName=f"{created['FunctionArn']}:1")
    assert qualified["Version"] == "1"
    lam.create_alias(FunctionName=fname, Name="blue", FunctionVersion="1")
    invoked = lam.invoke(FunctionName=f"{created['FunctionArn']}:blue", Payload=b"{}")
    assert invoked["ExecutedVersion"] == "1"


def test_every_operation_reports_the_arn_aws_reports(lam: Any, fname: str) -> None:
    unqualified, latest = f"{ARN}{fname}", f"{ARN}{fname}:$LATEST"
    assert create_function(lam, fname, code=CODE)["FunctionArn"] == unqualified
    settle(lam, fname)
    updated = lam.update_function_configuration(FunctionName=fname, Timeout=9)
    assert updated["FunctionArn"] == unqualified
    settle(lam, fname)
    published = lam.publish_version(FunctionName=fname)
    assert (published["FunctionArn"], published["Version"]) == (f"{unqualified}:1", "1")
    code = lam.update_function_code(FunctionName=fname, ZipFile=CODE_2)
    assert code["FunctionArn"] == unqualified
    settle(lam, fname)
    # UpdateFunctionCode with Publish reports the version it published, qualified.
    code_published = lam.update_function_code(FunctionName=fname, ZipFile=CODE_3, Publish=True)
    assert (code_published["FunctionArn"], code_published["Version"]) == (
        f"{unqualified}:2",
        "2",
    )
    settle(lam, fname)

    # Reads: unqualified without a qualifier, as asked with one — $LATEST included.
    assert lam.get_function(FunctionName=fname)["Configuration"]["FunctionArn"] == unqualified
    assert lam.get_function_configuration(FunctionName=fname)["FunctionArn"] == unqualified
    for qualifier, arn in (("$LATEST", latest), ("1", f"{unqualified}:1")):
        got = lam.get_function(FunctionName=fname, Qualifier=qualifier)["Configuration"]
        assert got["FunctionArn"] == arn
        config = lam.get_function_configuration(FunctionName=fname, Qualifier=qualifier)
        assert config["FunctionArn"] == arn
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="2")
    via_alias = lam.get_function_configuration(FunctionName=fname, Qualifier="live")
    assert (via_alias["FunctionArn"], via_alias["Version"]) == (f"{unqualified}:live", "2")

    # ListVersionsByFunction qualifies every entry, $LATEST too; ListFunctions none.
    versions = lam.list_versions_by_function(FunctionName=fname)["Versions"]
    assert [v["FunctionArn"] for v in versions] == [latest, f"{unqualified}:1", f"{unqualified}:2"]
    listed = [
        f
        for page in lam.get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if f["FunctionName"] == fname
    ]
    assert [f["FunctionArn"] for f in listed] == [unqualified]


@pytest.mark.parametrize(
    ("arn", "expected"),
    [
        (
            "arn:aws:lambda:ap-southeast-1:000000000000:function:{name}",
            (
                "ResourceNotFoundException",
                404,
                "Functions from 'ap-southeast-1' are not reachable in this region ('us-east-1')",
            ),
        ),
        ("arn:aws:lambda:us-east-1:123456789012:function:{name}", ("AccessDeniedException", 403)),
        ("123456789012:function:{name}", ("AccessDeniedException", 403)),
    ],
)
def test_create_with_an_arn_of_another_region_or_account_is_refused(
    lam: Any, fname: str, arn: str, expected: tuple[Any, ...]
) -> None:
    with pytest.raises(ClientError) as exc:
        create_function(lam, arn.format(name=fname), code=CODE)
    assert error_of(exc)[: len(expected)] == expected
    with pytest.raises(ClientError) as missing:
        lam.get_function(FunctionName=fname)
    assert error_of(missing)[:2] == ("ResourceNotFoundException", 404)


def test_create_with_this_endpoints_arn_creates_the_named_function(lam: Any, fname: str) -> None:
    created = create_function(lam, f"{ARN}{fname}", code=CODE)
    assert (created["FunctionName"], created["FunctionArn"]) == (fname, f"{ARN}{fname}")


def test_all_digit_function_names_work_as_on_aws(lam: Any, fname: str) -> None:
    """botocore's FunctionName pattern, ``([a-zA-Z0-9-_]+)``, and the name validation in
    LocalStack's AWS-validated tests admit names of digits only; nothing AWS documents or
    answers refuses them, so neither does Nimbus — and every form of the name resolves."""
    name = str(abs(hash(fname)) % 10**12).rjust(12, "7")  # twelve digits: like an account id
    created = create_function(lam, name, code=CODE)
    assert created["FunctionArn"] == f"{ARN}{name}"
    settle(lam, name)
    for form in (name, f"{ARN}{name}", f"000000000000:function:{name}"):
        assert lam.get_function(FunctionName=form)["Configuration"]["FunctionName"] == name
    assert lam.invoke(FunctionName=name, Payload=b'{"n": 1}')["Payload"].read() == b'{"n": 1}'
    lam.delete_function(FunctionName=name)


def test_delete_with_a_qualifier_that_does_not_exist(lam: Any, fname: str) -> None:
    """AWS deletes a version that does not exist idempotently (204) while the function
    exists, and answers 404 once the function is gone (LocalStack's AWS-validated
    test_delete_on_nonexisting_version: "delete function on a random qualifier is
    idempotent")."""
    create_function(lam, fname, code=CODE)
    for _ in range(2):
        deleted = lam.delete_function(FunctionName=fname, Qualifier="1233")
        assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    lam.delete_function(FunctionName=fname)
    for qualifier in (None, "1233"):
        with pytest.raises(ClientError) as exc:
            if qualifier is None:
                lam.delete_function(FunctionName=fname)
            else:
                lam.delete_function(FunctionName=fname, Qualifier=qualifier)
        assert error_of(exc) == (
            "ResourceNotFoundException",
            404,
            f"Function not found: {ARN}{fname}",
        )
