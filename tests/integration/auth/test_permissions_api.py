"""End to end: a function's resource-based policy through boto3 — AddPermission,
GetPolicy, RemovePermission on the function, a version and an alias, their errors, and the
whole-document Put/Get/DeleteResourcePolicy."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import create_function, error_of, make_zip, settle

CODE = make_zip({"app.py": "def handler(event, context):\n    return 1\n"})
ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def make(lam: Any, name: str) -> None:
    create_function(lam, name, code=CODE)
    settle(lam, name)


def allow_sns(lam: Any, name: str, sid: str = "sns", **extra: Any) -> dict[str, Any]:
    result: dict[str, Any] = lam.add_permission(
        FunctionName=name,
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal="sns.amazonaws.com",
        **extra,
    )
    return result


def test_add_get_remove_permission(lam: Any, fname: str) -> None:
    make(lam, fname)
    added = allow_sns(
        lam,
        fname,
        SourceArn="arn:aws:sns:us-east-1:000000000000:topic",
        SourceAccount="000000000000",
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"]) == {
        "Sid": "sns",
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": ARN + fname,
        "Condition": {
            "StringEquals": {"AWS:SourceAccount": "000000000000"},
            "ArnLike": {"AWS:SourceArn": "arn:aws:sns:us-east-1:000000000000:topic"},
        },
    }
    lam.add_permission(
        FunctionName=fname,
        StatementId="acct",
        Action="lambda:GetFunction",
        Principal="111122223333",
    )
    got = lam.get_policy(FunctionName=fname)
    policy = json.loads(got["Policy"])
    assert policy["Version"] == "2012-10-17" and policy["Id"] == "default"
    assert [s["Sid"] for s in policy["Statement"]] == ["sns", "acct"]
    assert policy["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert got["RevisionId"]

    removed = lam.remove_permission(FunctionName=fname, StatementId="sns")
    assert removed["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert [
        s["Sid"] for s in json.loads(lam.get_policy(FunctionName=fname)["Policy"])["Statement"]
    ] == ["acct"]
    lam.remove_permission(FunctionName=fname, StatementId="acct")
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=fname)
    assert error_of(exc) == (
        "ResourceNotFoundException",
        404,
        "The resource you requested does not exist.",
    )


def test_duplicate_statement_id_is_a_conflict(lam: Any, fname: str) -> None:
    make(lam, fname)
    allow_sns(lam, fname)
    with pytest.raises(ClientError) as exc:
        allow_sns(lam, fname)
    assert error_of(exc) == (
        "ResourceConflictException",
        409,
        "The statement id (sns) provided already exists. Please provide a new statement id, "
        "or remove the existing statement.",
    )


def test_revision_id_is_a_precondition(lam: Any, fname: str) -> None:
    make(lam, fname)
    allow_sns(lam, fname)
    revision = lam.get_policy(FunctionName=fname)["RevisionId"]
    allow_sns(lam, fname, sid="two", RevisionId=revision)
    for call in (
        lambda: allow_sns(lam, fname, sid="three", RevisionId=revision),
        lambda: lam.remove_permission(FunctionName=fname, StatementId="two", RevisionId=revision),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("PreconditionFailedException", 412)
    fresh = lam.get_policy(FunctionName=fname)["RevisionId"]
    lam.remove_permission(FunctionName=fname, StatementId="two", RevisionId=fresh)


def test_missing_function_statement_and_bad_input(lam: Any, fname: str) -> None:
    with pytest.raises(ClientError) as exc:
        allow_sns(lam, "no-such-function")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    make(lam, fname)
    with pytest.raises(ClientError) as exc:
        lam.remove_permission(FunctionName=fname, StatementId="nope")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    allow_sns(lam, fname)
    with pytest.raises(ClientError) as exc:
        lam.remove_permission(FunctionName=fname, StatementId="nope")
    assert error_of(exc) == (
        "ResourceNotFoundException",
        404,
        "Statement nope is not found in resource policy.",
    )
    with pytest.raises(ClientError) as exc:
        lam.add_permission(
            FunctionName=fname, StatementId="x", Action="s3:GetObject", Principal="*"
        )
    assert error_of(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        lam.add_permission(
            FunctionName=fname, StatementId="x", Action="lambda:InvokeFunction", Principal="bob"
        )
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)


def test_versions_and_aliases_have_their_own_policies(lam: Any, fname: str) -> None:
    make(lam, fname)
    version = lam.publish_version(FunctionName=fname)["Version"]
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion=version)
    allow_sns(lam, fname, sid="on-version", Qualifier=version)
    added = allow_sns(lam, f"{fname}:live", sid="on-alias")
    assert json.loads(added["Statement"])["Resource"] == f"{ARN}{fname}:live"
    assert [
        s["Resource"]
        for s in json.loads(lam.get_policy(FunctionName=fname, Qualifier=version)["Policy"])[
            "Statement"
        ]
    ] == [f"{ARN}{fname}:{version}"]
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=fname)  # the function itself has none
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    for qualifier in ("99", "missing-alias"):
        with pytest.raises(ClientError) as exc:
            allow_sns(lam, fname, sid="x", Qualifier=qualifier)
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        allow_sns(lam, fname, sid="x", Qualifier="$LATEST")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)

    # Deleting an alias takes its policy with it: re-created, it has none.
    lam.delete_alias(FunctionName=fname, Name="live")
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion=version)
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=fname, Qualifier="live")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_deleting_the_function_deletes_its_policy(lam: Any, fname: str) -> None:
    make(lam, fname)
    allow_sns(lam, fname)
    lam.delete_function(FunctionName=fname)
    make(lam, fname)
    with pytest.raises(ClientError) as exc:
        lam.get_policy(FunctionName=fname)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_whole_policy_operations(lam: Any, fname: str) -> None:
    make(lam, fname)
    arn = ARN + fname
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "cross",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "lambda:InvokeFunction",
                "Resource": arn,
            }
        ],
    }
    put = lam.put_resource_policy(ResourceArn=arn, Policy=json.dumps(document))
    assert json.loads(put["Policy"]) == document
    got = lam.get_resource_policy(ResourceArn=arn)
    assert got["RevisionId"] == put["RevisionId"]
    # GetPolicy and AddPermission see the same document.
    assert json.loads(lam.get_policy(FunctionName=fname)["Policy"]) == document
    allow_sns(lam, fname)
    assert [
        s["Sid"]
        for s in json.loads(lam.get_resource_policy(ResourceArn=arn)["Policy"])["Statement"]
    ] == ["cross", "sns"]

    with pytest.raises(ClientError) as exc:
        lam.put_resource_policy(
            ResourceArn=arn, Policy=json.dumps(document), RevisionId=put["RevisionId"]
        )
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)
    with pytest.raises(ClientError) as exc:
        lam.put_resource_policy(ResourceArn=arn, Policy="{not json")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as exc:
        lam.put_resource_policy(
            ResourceArn=arn, Policy=json.dumps({"Statement": [{"Sid": "a" * 21_000}]})
        )
    assert error_of(exc)[:2] == ("PolicyLengthExceededException", 400)

    lam.delete_resource_policy(ResourceArn=arn)
    with pytest.raises(ClientError) as exc:
        lam.get_resource_policy(ResourceArn=arn)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        lam.get_resource_policy(ResourceArn=ARN + "no-such-function")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)

    # A qualified ARN names the version's (or alias's) own policy.
    version = lam.publish_version(FunctionName=fname)["Version"]
    lam.put_resource_policy(ResourceArn=f"{arn}:{version}", Policy=json.dumps(document))
    assert lam.get_policy(FunctionName=fname, Qualifier=version)["Policy"]
    with pytest.raises(ClientError) as exc:
        lam.get_resource_policy(ResourceArn=arn)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
