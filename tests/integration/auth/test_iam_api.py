"""Issue 12's "done when", end to end: IAM's API through boto3's ``iam`` client (the AWS CLI
in test_iam_cli.py) — users, access keys, roles, inline and managed policies — answering
with IAM's errors, and a user's keys working and governed by exactly the policies IAM holds
for them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from nimbus.testing.server import ADMIN_ACCESS_KEY_ID
from tests.integration.auth.helpers import (
    ACCOUNT,
    TRUST_LAMBDA,
    allow_actions,
    client_as,
    trusting,
    unique,
    user_key,
)
from tests.support import NimbusServer, error_of


def _code(call: Any) -> str:
    try:
        call()
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "allowed"


@pytest.fixture(scope="module")
def iam(server: NimbusServer) -> Any:
    return server.client("iam")


# --- Users and access keys ----------------------------------------------------------------


def test_a_user_is_created_read_listed_and_deleted(server: NimbusServer, iam: Any) -> None:
    name = unique("alice")
    created = iam.create_user(UserName=name, Path="/team/", Tags=[{"Key": "k", "Value": "v"}])
    user = created["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/team/{name}"
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21

    got = iam.get_user(UserName=name)["User"]
    assert (got["UserName"], got["Path"], got["UserId"]) == (name, "/team/", user["UserId"])
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    listed = iam.list_users(PathPrefix="/team/")["Users"]
    assert name in [u["UserName"] for u in listed]

    with pytest.raises(ClientError) as again:
        iam.create_user(UserName=name)
    assert error_of(again) == ("EntityAlreadyExists", 409, f"User with name {name} already exists.")

    iam.delete_user(UserName=name)
    with pytest.raises(ClientError) as gone:
        iam.get_user(UserName=name)
    assert error_of(gone) == ("NoSuchEntity", 404, f"The user with name {name} cannot be found.")
    assert iam.exceptions.NoSuchEntityException is type(gone.value)


def test_a_created_users_key_works_and_is_governed_by_its_policies(
    server: NimbusServer, iam: Any
) -> None:
    name = unique("dev")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["SecretAccessKey"]) == 40
    assert key["Status"] == "Active" and key["UserName"] == name

    who = client_as(server, "sts", key).get_caller_identity()
    assert who["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"
    lam = client_as(server, "lambda", key)
    # No policy: nothing is allowed.
    assert _code(lam.list_functions) == "AccessDeniedException"

    iam.put_user_policy(
        UserName=name,
        PolicyName="list",
        PolicyDocument=json.dumps(allow_actions("lambda:ListFunctions")),
    )
    assert _code(lam.list_functions) == "allowed"
    assert _code(lam.get_account_settings) == "AccessDeniedException"
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["list"]
    stored = iam.get_user_policy(UserName=name, PolicyName="list")
    assert stored["PolicyDocument"] == allow_actions("lambda:ListFunctions")

    iam.delete_user_policy(UserName=name, PolicyName="list")
    assert _code(lam.list_functions) == "AccessDeniedException"

    # An inactive key is refused as unknown; active again, it works again.
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Inactive")
    assert _code(client_as(server, "sts", key).get_caller_identity) == "InvalidClientTokenId"
    iam.update_access_key(UserName=name, AccessKeyId=key["AccessKeyId"], Status="Active")
    assert _code(client_as(server, "sts", key).get_caller_identity) == "allowed"

    listed = iam.list_access_keys(UserName=name)["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in listed] == [key["AccessKeyId"]]


def test_a_user_with_keys_cannot_be_deleted_until_they_are(server: NimbusServer, iam: Any) -> None:
    name = unique("holder")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as third:
        iam.create_access_key(UserName=name)
    assert error_of(third) == (
        "LimitExceeded",
        409,
        "Cannot exceed quota for AccessKeysPerUser: 2",
    )

    with pytest.raises(ClientError) as conflict:
        iam.delete_user(UserName=name)
    assert error_of(conflict) == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must delete access keys first.",
    )
    for entry in iam.list_access_keys(UserName=name)["AccessKeyMetadata"]:
        iam.delete_access_key(UserName=name, AccessKeyId=entry["AccessKeyId"])
    assert _code(client_as(server, "sts", key).get_caller_identity) == "InvalidClientTokenId"
    with pytest.raises(ClientError) as missing_key:
        iam.delete_access_key(UserName=name, AccessKeyId=key["AccessKeyId"])
    assert error_of(missing_key)[:2] == ("NoSuchEntity", 404)
    iam.delete_user(UserName=name)


def test_a_malformed_policy_document_is_refused(server: NimbusServer, iam: Any) -> None:
    name = unique("strict")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as not_json:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument="{not json")
    assert error_of(not_json) == (
        "MalformedPolicyDocument",
        400,
        "This policy contains invalid Json",
    )

    bad_effect = {"Version": "2012-10-17", "Statement": [{"Effect": "Maybe", "Action": "*"}]}
    with pytest.raises(ClientError) as effect:
        iam.create_policy(PolicyName=unique("bad"), PolicyDocument=json.dumps(bad_effect))
    assert error_of(effect)[:2] == ("MalformedPolicyDocument", 400)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == []


# --- Managed policies -----------------------------------------------------------------------


def test_a_managed_policys_default_version_is_what_governs(server: NimbusServer, iam: Any) -> None:
    user = unique("managed")
    key = user_key(server, user)
    lam = client_as(server, "lambda", key)
    policy_name = unique("lambda-list")
    policy = iam.create_policy(
        PolicyName=policy_name, PolicyDocument=json.dumps(allow_actions("lambda:ListFunctions"))
    )["Policy"]
    arn = policy["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{policy_name}"
    assert (policy["DefaultVersionId"], policy["AttachmentCount"]) == ("v1", 0)

    iam.attach_user_policy(UserName=user, PolicyArn=arn)
    attached = iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    assert attached == [{"PolicyName": policy_name, "PolicyArn": arn}]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    assert _code(lam.list_functions) == "allowed"
    assert _code(lam.get_account_settings) == "AccessDeniedException"

    # A new version not made default changes nothing; made default, it governs.
    v2 = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=json.dumps(allow_actions("lambda:GetAccountSettings"))
    )["PolicyVersion"]
    assert (v2["VersionId"], v2["IsDefaultVersion"]) == ("v2", False)
    assert _code(lam.get_account_settings) == "AccessDeniedException"
    v3 = iam.create_policy_version(
        PolicyArn=arn,
        PolicyDocument=json.dumps(allow_actions("lambda:GetAccountSettings")),
        SetAsDefault=True,
    )["PolicyVersion"]
    assert (v3["VersionId"], v3["IsDefaultVersion"]) == ("v3", True)
    assert _code(lam.get_account_settings) == "allowed"
    assert _code(lam.list_functions) == "AccessDeniedException"
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v3")["PolicyVersion"]
    assert version["Document"] == allow_actions("lambda:GetAccountSettings")
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v3", "v2", "v1"]

    with pytest.raises(ClientError) as attached_conflict:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(attached_conflict) == (
        "DeleteConflict",
        409,
        "Cannot delete a policy attached to entities.",
    )
    iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert _code(lam.get_account_settings) == "AccessDeniedException"
    with pytest.raises(ClientError) as detached_twice:
        iam.detach_user_policy(UserName=user, PolicyArn=arn)
    assert error_of(detached_twice)[:2] == ("NoSuchEntity", 404)

    with pytest.raises(ClientError) as versions_left:
        iam.delete_policy(PolicyArn=arn)
    assert error_of(versions_left)[:2] == ("DeleteConflict", 409)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as gone:
        iam.get_policy(PolicyArn=arn)
    assert error_of(gone) == ("NoSuchEntity", 404, f"Policy {arn} was not found.")
    with pytest.raises(ClientError) as duplicate:
        iam.create_policy(PolicyName=policy_name, PolicyDocument=json.dumps(allow_actions("s3:*")))
        iam.create_policy(PolicyName=policy_name, PolicyDocument=json.dumps(allow_actions("s3:*")))
    assert error_of(duplicate)[:2] == ("EntityAlreadyExists", 409)


def test_attaching_a_policy_that_does_not_exist_is_refused(server: NimbusServer, iam: Any) -> None:
    user = unique("nobody")
    iam.create_user(UserName=user)
    arn = f"arn:aws:iam::{ACCOUNT}:policy/{unique('missing')}"
    with pytest.raises(ClientError) as caught:
        iam.attach_user_policy(UserName=user, PolicyArn=arn)
    assert error_of(caught) == (
        "NoSuchEntity",
        404,
        f"Policy {arn} does not exist or is not attachable.",
    )


# --- Roles ----------------------------------------------------------------------------------


def test_a_role_with_policies_is_deleted_only_once_they_are_gone(
    server: NimbusServer, iam: Any
) -> None:
    name = unique("worker")
    role = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA),
        Description="does work",
        MaxSessionDuration=7200,
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/{name}"
    assert role["RoleId"].startswith("AROA")
    got = iam.get_role(RoleName=name)["Role"]
    assert got["AssumeRolePolicyDocument"] == TRUST_LAMBDA
    assert (got["Description"], got["MaxSessionDuration"]) == ("does work", 7200)
    assert name in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    with pytest.raises(ClientError) as twice:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    assert error_of(twice) == ("EntityAlreadyExists", 409, f"Role with name {name} already exists.")

    iam.put_role_policy(
        RoleName=name,
        PolicyName="inline",
        PolicyDocument=json.dumps(allow_actions("sqs:SendMessage")),
    )
    assert iam.get_role_policy(RoleName=name, PolicyName="inline")[
        "PolicyDocument"
    ] == allow_actions("sqs:SendMessage")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["inline"]
    managed = iam.create_policy(
        PolicyName=unique("role-managed"),
        PolicyDocument=json.dumps(allow_actions("sqs:ReceiveMessage")),
    )["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=managed)
    assert [
        p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    ] == [managed]

    with pytest.raises(ClientError) as inline_left:
        iam.delete_role(RoleName=name)
    assert error_of(inline_left) == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must delete policies first.",
    )
    iam.delete_role_policy(RoleName=name, PolicyName="inline")
    with pytest.raises(ClientError) as attached_left:
        iam.delete_role(RoleName=name)
    assert error_of(attached_left) == (
        "DeleteConflict",
        409,
        "Cannot delete entity, must detach all policies first.",
    )
    iam.detach_role_policy(RoleName=name, PolicyArn=managed)
    iam.delete_role(RoleName=name)
    with pytest.raises(ClientError) as gone:
        iam.get_role(RoleName=name)
    assert error_of(gone) == ("NoSuchEntity", 404, f"The role with name {name} cannot be found.")


def test_a_role_policy_on_a_missing_role_is_refused(server: NimbusServer, iam: Any) -> None:
    name = unique("ghost")
    with pytest.raises(ClientError) as caught:
        iam.put_role_policy(
            RoleName=name, PolicyName="p", PolicyDocument=json.dumps(allow_actions("sqs:*"))
        )
    assert error_of(caught) == ("NoSuchEntity", 404, f"The role with name {name} cannot be found.")


def test_a_user_without_iam_permissions_cannot_administer_iam(
    server: NimbusServer, iam: Any
) -> None:
    name = unique("intruder")
    iam.create_user(UserName=name)
    iam.put_user_policy(
        UserName=name, PolicyName="lambda", PolicyDocument=json.dumps(allow_actions("lambda:*"))
    )
    theirs = client_as(server, "iam", iam.create_access_key(UserName=name)["AccessKey"])
    with pytest.raises(ClientError) as caught:
        theirs.create_user(UserName=unique("sock-puppet"))
    code, status, message = error_of(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert f"user/{name} is not authorized to perform: iam:CreateUser" in message
    # Nor can it grant itself more.
    with pytest.raises(ClientError) as escalation:
        theirs.put_user_policy(
            UserName=name, PolicyName="all", PolicyDocument=json.dumps(allow_actions("*"))
        )
    assert error_of(escalation)[:2] == ("AccessDenied", 403)
    assert iam.list_user_policies(UserName=name)["PolicyNames"] == ["lambda"]


# --- Callers that are not users ----------------------------------------------------------

NOT_A_USER = (
    "ValidationError",
    400,
    "Must specify userName when calling with non-User credentials",
)


def _role_session(server: NimbusServer, iam: Any, policy: dict[str, Any]) -> dict[str, Any]:
    """Credentials of a session of a new role whose inline policy is ``policy``."""
    name = unique("assumer")
    key = user_key(server, name)
    role = unique("admin-role")
    trust = trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"})
    arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(policy))
    creds: dict[str, Any] = client_as(server, "sts", key).assume_role(
        RoleArn=arn, RoleSessionName="ss"
    )["Credentials"]
    return creds


def test_a_role_session_cannot_mint_or_manage_the_accounts_own_keys(
    server: NimbusServer, iam: Any
) -> None:
    """A role (a function's execution role, say) allowed iam:* still has no keys of its own:
    without UserName IAM refuses it rather than acting on the account's root keys."""
    creds = _role_session(server, iam, allow_actions("iam:*"))
    session = server.client(
        "iam",
        access_key_id=creds["AccessKeyId"],
        secret_access_key=creds["SecretAccessKey"],
        session_token=creds["SessionToken"],
    )
    root_keys = [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]]
    assert root_keys, "the administrator key is the account's own"
    target = root_keys[0]

    calls: dict[str, Callable[[], object]] = {
        "CreateAccessKey": lambda: session.create_access_key(),
        "ListAccessKeys": lambda: session.list_access_keys(),
        "UpdateAccessKey": lambda: session.update_access_key(AccessKeyId=target, Status="Inactive"),
        "DeleteAccessKey": lambda: session.delete_access_key(AccessKeyId=target),
        "GetUser": lambda: session.get_user(),
    }
    for operation, call in calls.items():
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught) == NOT_A_USER, operation

    after = iam.list_access_keys()["AccessKeyMetadata"]
    assert [k["AccessKeyId"] for k in after] == root_keys
    assert all(k["Status"] == "Active" for k in after)
    # With a UserName it is an ordinary IAM administrator.
    name = unique("made-by-role")
    session.create_user(UserName=name)
    made = session.create_access_key(UserName=name)["AccessKey"]
    assert made["UserName"] == name
    session.delete_access_key(UserName=name, AccessKeyId=made["AccessKeyId"])


def test_the_root_key_still_manages_the_accounts_own_keys(server: NimbusServer, iam: Any) -> None:
    made = iam.create_access_key()["AccessKey"]
    try:
        listed = [k["AccessKeyId"] for k in iam.list_access_keys()["AccessKeyMetadata"]]
        assert made["AccessKeyId"] in listed
        assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    finally:
        iam.delete_access_key(AccessKeyId=made["AccessKeyId"])


def test_a_keys_owner_is_told_only_to_who_may_see_it(server: NimbusServer, iam: Any) -> None:
    """GetAccessKeyLastUsed names the key's owner: to the owner, to root, and to a caller
    allowed iam:GetAccessKeyLastUsed on the owner's user; nobody else learns it."""
    owner = unique("owner")
    iam.create_user(UserName=owner)
    owned = iam.create_access_key(UserName=owner)["AccessKey"]
    assert iam.get_access_key_last_used(AccessKeyId=owned["AccessKeyId"])["UserName"] == owner
    # The owner (allowed on itself) sees its own key.
    iam.put_user_policy(
        UserName=owner,
        PolicyName="self",
        PolicyDocument=json.dumps(
            allow_actions(
                "iam:GetAccessKeyLastUsed", resource=f"arn:aws:iam::{ACCOUNT}:user/{owner}"
            )
        ),
    )
    mine = client_as(server, "iam", owned).get_access_key_last_used(
        AccessKeyId=owned["AccessKeyId"]
    )
    assert mine["UserName"] == owner

    snoop = unique("snoop")
    own_only = allow_actions(
        "iam:GetAccessKeyLastUsed", resource=f"arn:aws:iam::{ACCOUNT}:user/{snoop}"
    )
    snooper = client_as(server, "iam", user_key(server, snoop, own_only))
    for key_id in (owned["AccessKeyId"], ADMIN_ACCESS_KEY_ID):
        with pytest.raises(ClientError) as caught:
            snooper.get_access_key_last_used(AccessKeyId=key_id)
        code, status, message = error_of(caught)
        assert (code, status) == ("AccessDenied", 403)
        assert owner not in message

    auditor = user_key(server, unique("auditor"), allow_actions("iam:GetAccessKeyLastUsed"))
    audits = client_as(server, "iam", auditor)
    seen = audits.get_access_key_last_used(AccessKeyId=owned["AccessKeyId"])
    assert seen["UserName"] == owner
