"""Issue 12's "done when", end to end: IAM through the AWS CLI (``aws iam ...``), signing with
the administrator key — its answers parsed, IAM's errors reported by their codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
from tests.integration.auth.helpers import allow_actions, aws_cli, unique
from tests.support import NimbusServer

ADMIN_KEY = {"AccessKeyId": ADMIN_ACCESS_KEY_ID, "SecretAccessKey": ADMIN_SECRET_ACCESS_KEY}


def _aws(server: NimbusServer, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return aws_cli(server, tmp_path, ADMIN_KEY, *args)


def test_the_aws_cli_manages_users_and_policies(server: NimbusServer, tmp_path: Path) -> None:
    name = unique("cli-user")
    created = _aws(server, tmp_path, "iam", "create-user", "--user-name", name)
    assert created.returncode == 0, created.stderr
    assert json.loads(created.stdout)["User"]["UserName"] == name

    def put_policy(policy_name: str, document: str) -> subprocess.CompletedProcess[str]:
        return _aws(
            server,
            tmp_path,
            "iam",
            "put-user-policy",
            "--user-name",
            name,
            "--policy-name",
            policy_name,
            "--policy-document",
            document,
        )

    put = put_policy("read", json.dumps(allow_actions("lambda:Get*")))
    assert put.returncode == 0, put.stderr
    got = _aws(
        server, tmp_path, "iam", "get-user-policy", "--user-name", name, "--policy-name", "read"
    )
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["PolicyDocument"] == allow_actions("lambda:Get*")

    listed = _aws(server, tmp_path, "iam", "list-users")
    assert listed.returncode == 0, listed.stderr
    assert name in [u["UserName"] for u in json.loads(listed.stdout)["Users"]]

    missing = _aws(server, tmp_path, "iam", "get-user", "--user-name", f"{name}-nope")
    assert missing.returncode != 0
    assert "(NoSuchEntity)" in missing.stderr
    assert f"The user with name {name}-nope cannot be found." in missing.stderr

    bad = put_policy("bad", "{nope")
    assert bad.returncode != 0 and "(MalformedPolicyDocument)" in bad.stderr
