"""IAM authorizes a user or role under its real ARN, path included: a request names only
``RoleName``/``UserName``, so a policy scoped to a path (``role/admins/*``, the console's
``role/service-role/*``) must still match it."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.integration.auth.helpers import ACCOUNT, TRUST_LAMBDA, client_as, unique, user_key
from tests.support import NimbusServer, error_of

TRUST = json.dumps(TRUST_LAMBDA)
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


def test_a_deny_on_a_path_holds_for_a_role_named_without_it(server: NimbusServer) -> None:
    iam = server.client("iam")
    boss = unique("boss")
    iam.create_role(RoleName=boss, Path="/admins/", AssumeRolePolicyDocument=TRUST)
    helper = unique("helper")
    iam.create_role(RoleName=helper, Path="/service-role/", AssumeRolePolicyDocument=TRUST)
    key = user_key(
        server,
        unique("ops"),
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "iam:*", "Resource": "*"},
                {
                    "Effect": "Deny",
                    "Action": "iam:*",
                    "Resource": f"arn:aws:iam::{ACCOUNT}:role/admins/*",
                },
            ],
        },
    )
    ops = client_as(server, "iam", key)
    with pytest.raises(ClientError) as denied:
        ops.put_role_policy(RoleName=boss, PolicyName="escalate", PolicyDocument=POLICY)
    code, status, message = error_of(denied)
    assert (code, status) == ("AccessDenied", 403)
    assert f"role/admins/{boss}" in message and "explicit deny" in message
    assert iam.list_role_policies(RoleName=boss)["PolicyNames"] == []
    ops.put_role_policy(RoleName=helper, PolicyName="ok", PolicyDocument=POLICY)

    # An allow scoped to a path matches the role under it, and nothing else.
    scoped = client_as(
        server,
        "iam",
        user_key(
            server,
            unique("console"),
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "iam:PutRolePolicy",
                        "Resource": f"arn:aws:iam::{ACCOUNT}:role/service-role/*",
                    }
                ],
            },
        ),
    )
    scoped.put_role_policy(RoleName=helper, PolicyName="also", PolicyDocument=POLICY)
    assert sorted(iam.list_role_policies(RoleName=helper)["PolicyNames"]) == ["also", "ok"]
    with pytest.raises(ClientError) as outside:
        scoped.put_role_policy(RoleName=boss, PolicyName="escalate", PolicyDocument=POLICY)
    assert error_of(outside)[0] == "AccessDenied"
