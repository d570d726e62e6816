"""Issue 12's "done when", end to end against a real server with boto3 and the AWS CLI
signing normally: who may do what, decided as IAM decides it.

- a function whose role allows only ``lambda:GetFunctionConfiguration`` on itself is denied
  everything else — the red team's control-API attack from inside a function;
- a call by another principal allowed only by the function's resource policy;
- an IAM user whose explicit deny beats an allow of everything;
- the AWS CLI signing with a user's keys.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.integration.auth.helpers import (
    ACCOUNT,
    REGION,
    TRUST_LAMBDA,
    allow,
    aws_cli,
    client_as,
    unique,
    user_key,
)
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer, error_of

# Calls its own control API with the execution role's credentials (the environment's
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, as on AWS) and reports what
# each call answered.
PROBE = """
import json, os, boto3
from botocore.config import Config
from botocore.exceptions import ClientError

lam = boto3.client("lambda", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                   config=Config(retries={"max_attempts": 0}))
ME = os.environ["AWS_LAMBDA_FUNCTION_NAME"]

def attempt(call):
    try:
        call()
        return "allowed"
    except ClientError as exc:
        return exc.response["Error"]["Code"]

def handler(event, context):
    other = event["other"]
    return {
        "key_kind": os.environ["AWS_ACCESS_KEY_ID"][:4],
        "has_token": bool(os.environ.get("AWS_SESSION_TOKEN")),
        "own_configuration": attempt(lambda: lam.get_function_configuration(FunctionName=ME)),
        "own_code": attempt(lambda: lam.get_function(FunctionName=ME)),
        "list": attempt(lambda: lam.list_functions()),
        "other_configuration": attempt(
            lambda: lam.get_function_configuration(FunctionName=other)),
        "other_code": attempt(lambda: lam.get_function(FunctionName=other)),
        "delete_other": attempt(lambda: lam.delete_function(FunctionName=other)),
        "update_other": attempt(lambda: lam.update_function_configuration(
            FunctionName=other, Environment={"Variables": {"OWNED": "yes"}})),
    }
"""

ECHO = "def handler(event, context):\n    return {'echo': event}\n"


def test_a_role_allowing_only_its_own_configuration_is_denied_everything_else(
    server: NimbusServer, fname: str
) -> None:
    lam, iam = server.client("lambda"), server.client("iam")
    victim = f"{fname}-victim"
    deploy(lam, victim, ECHO, Environment={"Variables": {"SECRET": "victim-secret-value"}})
    role_name = unique("only-self")
    role_arn = iam.create_role(
        RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA)
    )["Role"]["Arn"]
    own_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fname}"
    iam.put_role_policy(
        RoleName=role_name,
        PolicyName="self",
        PolicyDocument=json.dumps(allow(("lambda:GetFunctionConfiguration", own_arn))),
    )
    deploy(lam, fname, PROBE, Role=role_arn, Timeout=30)

    answer = lam.invoke(FunctionName=fname, Payload=json.dumps({"other": victim}).encode())
    result = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, result

    assert result["key_kind"] == "ASIA" and result["has_token"]
    assert result["own_configuration"] == "allowed"
    denied = ("own_code", "list", "other_configuration", "other_code", "delete_other")
    assert {k: result[k] for k in denied} == dict.fromkeys(denied, "AccessDeniedException")
    assert result["update_other"] == "AccessDeniedException"
    # And nothing changed: the victim is there, with its own variables only.
    config = lam.get_function_configuration(FunctionName=victim)
    assert config["Environment"]["Variables"] == {"SECRET": "victim-secret-value"}


def test_an_unknown_role_grants_nothing_until_it_is_created(
    server: NimbusServer, fname: str
) -> None:
    lam, iam = server.client("lambda"), server.client("iam")
    victim = f"{fname}-victim"
    deploy(lam, victim, ECHO)
    role_name = unique("later")
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
    deploy(lam, fname, PROBE, Role=role_arn, Timeout=30)  # accepted, as templates expect

    before = json.loads(
        lam.invoke(FunctionName=fname, Payload=json.dumps({"other": victim}).encode())[
            "Payload"
        ].read()
    )
    assert before["own_configuration"] == "AccessDeniedException"

    iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(TRUST_LAMBDA))
    iam.put_role_policy(
        RoleName=role_name,
        PolicyName="read-all",
        PolicyDocument=json.dumps(allow(("lambda:GetFunctionConfiguration", "*"))),
    )
    # The same environment's credentials now carry the role's policies (IAM is eventually
    # consistent on AWS too: Nimbus's cache of a principal's policies lives about a second).
    deadline_answers = []
    for _ in range(40):
        after = json.loads(
            lam.invoke(FunctionName=fname, Payload=json.dumps({"other": victim}).encode())[
                "Payload"
            ].read()
        )
        deadline_answers.append(after["other_configuration"])
        if after["other_configuration"] == "allowed":
            break
    assert deadline_answers[-1] == "allowed", deadline_answers
    assert after["delete_other"] == "AccessDeniedException"


def test_another_principal_is_allowed_only_by_the_resource_policy(
    server: NimbusServer, fname: str
) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, ECHO)
    user = unique("bob")
    bob = client_as(server, "lambda", user_key(server, user))

    with pytest.raises(ClientError) as denied:
        bob.invoke(FunctionName=fname, Payload=b"{}")
    code, status, message = error_of(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"user/{user}" in message and "lambda:InvokeFunction" in message

    added = lam.add_permission(
        FunctionName=fname,
        StatementId="bob-may-invoke",
        Action="lambda:InvokeFunction",
        Principal=f"arn:aws:iam::{ACCOUNT}:user/{user}",
    )
    assert json.loads(added["Statement"])["Principal"] == {
        "AWS": f"arn:aws:iam::{ACCOUNT}:user/{user}"
    }
    answer = bob.invoke(FunctionName=fname, Payload=b'{"from": "bob"}')
    assert json.loads(answer["Payload"].read()) == {"echo": {"from": "bob"}}
    # The statement grants invoking, nothing else.
    with pytest.raises(ClientError) as still_denied:
        bob.get_function(FunctionName=fname)
    assert error_of(still_denied)[0] == "AccessDeniedException"

    lam.remove_permission(FunctionName=fname, StatementId="bob-may-invoke")
    with pytest.raises(ClientError) as again:
        bob.invoke(FunctionName=fname, Payload=b"{}")
    assert error_of(again)[0] == "AccessDeniedException"


def test_an_explicit_deny_beats_an_allow_of_everything(server: NimbusServer, fname: str) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, ECHO)
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {
                "Sid": "NoDeletes",
                "Effect": "Deny",
                "Action": "lambda:Delete*",
                "Resource": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{fname}*",
            },
        ],
    }
    carol = client_as(server, "lambda", user_key(server, unique("carol"), policy))

    assert carol.get_function(FunctionName=fname)["Configuration"]["FunctionName"] == fname
    assert json.loads(carol.invoke(FunctionName=fname, Payload=b"1")["Payload"].read()) == {
        "echo": 1
    }
    with pytest.raises(ClientError) as denied:
        carol.delete_function(FunctionName=fname)
    code, status, message = error_of(denied)
    assert (code, status) == ("AccessDeniedException", 403)
    assert "explicit deny" in message
    assert lam.get_function(FunctionName=fname)["Configuration"]["FunctionName"] == fname


def test_the_aws_cli_signs_with_a_users_keys(
    server: NimbusServer, fname: str, tmp_path: Path
) -> None:
    lam = server.client("lambda")
    deploy(lam, fname, ECHO)
    key = user_key(server, unique("cli"), allow(("lambda:GetFunctionConfiguration", "*")))

    got = aws_cli(
        server, tmp_path, key, "lambda", "get-function-configuration", "--function-name", fname
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["FunctionName"] == fname

    denied = aws_cli(server, tmp_path, key, "lambda", "list-functions")
    assert denied.returncode != 0 and "AccessDeniedException" in denied.stderr

    wrong = aws_cli(
        server,
        tmp_path,
        key,
        "lambda",
        "get-function-configuration",
        "--function-name",
        fname,
        AWS_SECRET_ACCESS_KEY="not-the-secret-" + "x" * 25,
    )
    assert wrong.returncode != 0 and "InvalidSignatureException" in wrong.stderr
