"""Issue 12's "done when", end to end: STS through boto3 and the AWS CLI — GetCallerIdentity
for the root key, a user and an assumed role; AssumeRole decided by the role's trust policy,
bounded by DurationSeconds, and handing out credentials that act as the role."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.auth.helpers import (
    ACCOUNT,
    REGION,
    allow_actions,
    aws_cli,
    client_as,
    trusting,
    unique,
    user_key,
)
from tests.support import NimbusServer, error_of


def _user(server: NimbusServer, policy: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    name = unique("caller")
    return name, user_key(server, name, policy)


def _role(
    server: NimbusServer,
    trust: dict[str, Any],
    *,
    policy: dict[str, Any] | None = None,
    **extra: Any,
) -> str:
    iam = server.client("iam")
    name = unique("role")
    arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust), **extra)[
        "Role"
    ]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
    return arn


def _account_settings_denied(client: Any, role_arn: str, session: str) -> str:
    """The message of ``client``'s (a session ``session`` of ``role_arn``) GetAccountSettings,
    refused as not allowed."""
    with pytest.raises(ClientError) as denied:
        client.get_account_settings()
    code, status, message = error_of(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    role_name = role_arn.rsplit("/", 1)[-1]
    assert message.startswith(
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{session} is not authorized to "
        "perform: lambda:GetAccountSettings"
    )
    return message


def test_get_caller_identity_names_the_root_a_user_and_an_assumed_role(
    server: NimbusServer,
) -> None:
    root = server.client("sts").get_caller_identity()
    assert (root["Account"], root["Arn"], root["UserId"]) == (
        ACCOUNT,
        f"arn:aws:iam::{ACCOUNT}:root",
        ACCOUNT,
    )

    name, key = _user(server)
    user = client_as(server, "sts", key).get_caller_identity()
    created = server.client("iam").get_user(UserName=name)["User"]
    assert (user["Arn"], user["UserId"], user["Account"]) == (
        f"arn:aws:iam::{ACCOUNT}:user/{name}",
        created["UserId"],
        ACCOUNT,
    )

    role_arn = _role(server, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}))
    role_id = server.client("iam").get_role(RoleName=role_arn.rsplit("/", 1)[-1])["Role"]["RoleId"]
    assumed = client_as(server, "sts", key).assume_role(
        RoleArn=role_arn, RoleSessionName="who-am-i"
    )
    session = client_as(server, "sts", assumed["Credentials"]).get_caller_identity()
    role_name = role_arn.rsplit("/", 1)[-1]
    assert session["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/who-am-i"
    assert session["UserId"] == f"{role_id}:who-am-i"
    assert assumed["AssumedRoleUser"] == {
        "AssumedRoleId": f"{role_id}:who-am-i",
        "Arn": session["Arn"],
    }


def test_get_caller_identity_needs_no_permission_even_under_an_explicit_deny(
    server: NimbusServer,
) -> None:
    deny_all = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}],
    }
    name, key = _user(server, deny_all)
    assert client_as(server, "sts", key).get_caller_identity()["Arn"].endswith(f":user/{name}")


def test_assumed_role_credentials_act_as_the_role(server: NimbusServer, fname: str) -> None:
    name, key = _user(server)
    role_arn = _role(
        server,
        trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}),
        policy=allow_actions("lambda:ListFunctions"),
    )
    assumed = client_as(server, "sts", key).assume_role(RoleArn=role_arn, RoleSessionName="s1")
    creds = assumed["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA") and creds["SessionToken"]
    remaining = (creds["Expiration"] - datetime.now(UTC)).total_seconds()
    assert 3500 < remaining <= 3600  # one hour unless asked otherwise

    as_role = client_as(server, "lambda", creds)
    assert "Functions" in as_role.list_functions()
    _account_settings_denied(as_role, role_arn, "s1")
    # The user itself holds no permission: the role's are the session's alone.
    with pytest.raises(ClientError) as user_denied:
        client_as(server, "lambda", key).list_functions()
    assert error_of(user_denied)[0] == "AccessDeniedException"

    # Tampering with the session token makes the credentials worthless.
    forged = {**creds, "SessionToken": creds["SessionToken"][:-4] + "AAAA"}
    with pytest.raises(ClientError) as bad_token:
        client_as(server, "lambda", forged).list_functions()
    assert error_of(bad_token)[:2] == ("UnrecognizedClientException", 403)


def test_a_trust_policy_that_does_not_name_the_caller_denies_assume_role(
    server: NimbusServer,
) -> None:
    trusted, _ = _user(server)
    name, key = _user(server, allow_actions("sts:AssumeRole"))
    role_arn = _role(server, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{trusted}"}))
    with pytest.raises(ClientError) as caught:
        client_as(server, "sts", key).assume_role(RoleArn=role_arn, RoleSessionName="nope")
    assert error_of(caught) == (
        "AccessDenied",
        403,
        f"User: arn:aws:iam::{ACCOUNT}:user/{name} is not authorized to perform: "
        f"sts:AssumeRole on resource: {role_arn}",
    )
    # A role that does not exist is refused in the same words (existence is not disclosed).
    missing = f"arn:aws:iam::{ACCOUNT}:role/{unique('missing')}"
    with pytest.raises(ClientError) as absent:
        client_as(server, "sts", key).assume_role(RoleArn=missing, RoleSessionName="nope")
    assert error_of(absent)[2].endswith(f"sts:AssumeRole on resource: {missing}")


def test_a_trust_policy_naming_the_account_delegates_to_the_callers_policies(
    server: NimbusServer,
) -> None:
    role_arn = _role(server, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    _, without = _user(server)
    with pytest.raises(ClientError) as caught:
        client_as(server, "sts", without).assume_role(RoleArn=role_arn, RoleSessionName="x1")
    assert error_of(caught)[:2] == ("AccessDenied", 403)

    _, allowed = _user(server, allow_actions("sts:AssumeRole"))
    assumed = client_as(server, "sts", allowed).assume_role(RoleArn=role_arn, RoleSessionName="x2")
    assert assumed["AssumedRoleUser"]["Arn"].endswith("/x2")


def test_a_session_policy_caps_the_sessions_permissions(server: NimbusServer) -> None:
    """AssumeRole's Policy: the session may do only what both the role's policies and the
    session policy allow (IAM User Guide, "Session policies")."""
    name, key = _user(server)
    role_arn = _role(
        server,
        trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}),
        policy=allow_actions("lambda:*"),
    )
    sts = client_as(server, "sts", key)
    capped = sts.assume_role(
        RoleArn=role_arn,
        RoleSessionName="capped",
        Policy=json.dumps(allow_actions("lambda:ListFunctions")),
    )["Credentials"]
    as_capped = server.client(
        "lambda",
        access_key_id=capped["AccessKeyId"],
        secret_access_key=capped["SecretAccessKey"],
        session_token=capped["SessionToken"],
    )
    assert "Functions" in as_capped.list_functions()
    message = _account_settings_denied(as_capped, role_arn, "capped")
    assert message.endswith("because no session policy allows the lambda:GetAccountSettings action")
    # A session of the same role without a session policy keeps the role's permissions.
    full = sts.assume_role(RoleArn=role_arn, RoleSessionName="full")["Credentials"]
    assert "AccountLimit" in client_as(server, "lambda", full).get_account_settings()
    # And the capped session still cannot, whatever order the calls come in.
    with pytest.raises(ClientError) as again:
        as_capped.get_account_settings()
    assert error_of(again)[:2] == ("AccessDeniedException", 403)


def test_a_session_policy_also_caps_role_chaining(server: NimbusServer) -> None:
    name, key = _user(server)
    first = _role(
        server,
        trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}),
        policy=allow_actions("sts:AssumeRole", "lambda:*"),
    )
    second = _role(server, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    capped = client_as(server, "sts", key).assume_role(
        RoleArn=first,
        RoleSessionName="capped",
        Policy=json.dumps(allow_actions("lambda:ListFunctions")),
    )["Credentials"]
    with pytest.raises(ClientError) as caught:
        client_as(server, "sts", capped).assume_role(RoleArn=second, RoleSessionName="hop")
    assert error_of(caught)[:2] == ("AccessDenied", 403)
    uncapped = client_as(server, "sts", key).assume_role(RoleArn=first, RoleSessionName="free")
    hop = client_as(server, "sts", uncapped["Credentials"]).assume_role(
        RoleArn=second, RoleSessionName="hop"
    )
    assert hop["AssumedRoleUser"]["Arn"].endswith("/hop")


def test_the_root_key_cannot_assume_a_role(server: NimbusServer) -> None:
    role_arn = _role(server, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    with pytest.raises(ClientError) as caught:
        server.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="root")
    assert error_of(caught) == ("AccessDenied", 403, "Roles may not be assumed by root accounts.")


def test_duration_seconds_is_bounded(server: NimbusServer) -> None:
    name, key = _user(server)
    role_arn = _role(server, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}))
    sts = client_as(server, "sts", key)

    def refused(duration: int) -> tuple[str, int, str]:
        with pytest.raises(ClientError) as caught:
            sts.assume_role(RoleArn=role_arn, RoleSessionName="dur", DurationSeconds=duration)
        return error_of(caught)

    # botocore checks the model's minimum (900) itself: send it raw with validation off.
    assert refused(43201) == (
        "ValidationError",
        400,
        "1 validation error detected: Value '43201' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value less than or equal to 43200",
    )
    assert refused(7200) == (
        "ValidationError",
        400,
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    )
    unchecked = boto3.client(
        "sts",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(retries={"max_attempts": 0}, parameter_validation=False),
    )
    with pytest.raises(ClientError) as short:
        unchecked.assume_role(RoleArn=role_arn, RoleSessionName="dur", DurationSeconds=899)
    assert error_of(short) == (
        "ValidationError",
        400,
        "1 validation error detected: Value '899' at 'durationSeconds' failed to satisfy "
        "constraint: Member must have value greater than or equal to 900",
    )

    before = time.time()
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="dur", DurationSeconds=900)[
        "Credentials"
    ]
    assert 895 <= creds["Expiration"].timestamp() - before <= 902


def test_a_longer_max_session_duration_allows_longer_sessions_but_not_for_chains(
    server: NimbusServer,
) -> None:
    name, key = _user(server)
    first = _role(
        server,
        trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}),
        policy=allow_actions("sts:AssumeRole"),
        MaxSessionDuration=14400,
    )
    long = client_as(server, "sts", key).assume_role(
        RoleArn=first, RoleSessionName="long", DurationSeconds=14400
    )["Credentials"]
    assert (long["Expiration"] - datetime.now(UTC)).total_seconds() > 14000

    first_name = first.rsplit("/", 1)[-1]
    second = _role(
        server,
        trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:role/{first_name}"}),
        MaxSessionDuration=14400,
    )
    chained = client_as(server, "sts", long)
    with pytest.raises(ClientError) as caught:
        chained.assume_role(RoleArn=second, RoleSessionName="chain", DurationSeconds=7200)
    assert error_of(caught) == (
        "ValidationError",
        400,
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by "
        "role chaining.",
    )
    hop = chained.assume_role(RoleArn=second, RoleSessionName="chain")
    assert hop["AssumedRoleUser"]["Arn"].endswith(f"/{second.rsplit('/', 1)[-1]}/chain")


def test_the_aws_cli_assumes_a_role_and_uses_it(server: NimbusServer, tmp_path: Path) -> None:
    name, key = _user(server)
    role_arn = _role(server, trusting({"AWS": f"arn:aws:iam::{ACCOUNT}:user/{name}"}))

    def run(*args: str, **more: str) -> subprocess.CompletedProcess[str]:
        return aws_cli(server, tmp_path, key, *args, **more)

    me = run("sts", "get-caller-identity")
    assert me.returncode == 0, me.stderr
    assert json.loads(me.stdout)["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/{name}"

    assumed = run("sts", "assume-role", "--role-arn", role_arn, "--role-session-name", "cli")
    assert assumed.returncode == 0, assumed.stderr
    creds = json.loads(assumed.stdout)["Credentials"]
    as_role = run(
        "sts",
        "get-caller-identity",
        AWS_ACCESS_KEY_ID=creds["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
        AWS_SESSION_TOKEN=creds["SessionToken"],
    )
    assert as_role.returncode == 0, as_role.stderr
    role_name = role_arn.rsplit("/", 1)[-1]
    assert json.loads(as_role.stdout)["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/cli"
    )

    refused = run(
        "sts",
        "assume-role",
        "--role-arn",
        role_arn,
        "--role-session-name",
        "xx",
        **{"AWS_SECRET_ACCESS_KEY": "wrong-" + "s" * 34},
    )
    assert refused.returncode != 0 and "(SignatureDoesNotMatch)" in refused.stderr
