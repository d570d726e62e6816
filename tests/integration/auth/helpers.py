"""What the access-control tests share: IAM users made through the IAM API, boto3 clients and
the AWS CLI signing with their keys, and the policies they are given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.support import NimbusServer

ACCOUNT = "000000000000"
REGION = "us-east-1"
MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def allow(*statements: tuple[str | list[str], str]) -> dict[str, Any]:
    """A policy allowing each (action(s), resource)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": action, "Resource": resource}
            for action, resource in statements
        ],
    }


def allow_actions(*actions: str, resource: str = "*") -> dict[str, Any]:
    """A policy of one statement allowing ``actions`` (as a list) on ``resource``."""
    return allow((list(actions), resource))


def trusting(principal: Mapping[str, Any]) -> dict[str, Any]:
    """A role's trust policy letting ``principal`` (``{"AWS": arn}``, ``{"Service": ...}``)
    assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}],
    }


# The trust policy of a function's execution role.
TRUST_LAMBDA = trusting({"Service": "lambda.amazonaws.com"})


def user_key(
    server: NimbusServer, name: str, policy: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A new IAM user ``name`` with one access key and, if given, one inline policy."""
    iam = server.client("iam")
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName="inline", PolicyDocument=json.dumps(policy))
    key: dict[str, Any] = iam.create_access_key(UserName=name)["AccessKey"]
    return key


def client_as(server: NimbusServer, service: str, key: Mapping[str, Any]) -> Any:
    """A boto3 client for ``service`` signing with ``key`` (an IAM AccessKey or STS
    Credentials), retries off."""
    return boto3.client(
        service,
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=key.get("SessionToken"),
        config=Config(retries={"max_attempts": 0}),
    )


def aws_cli(
    server: NimbusServer, tmp_path: Path, key: Mapping[str, Any], *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """``aws --output json args...`` against ``server``, signing with ``key`` (an access key
    pair) and reading no config or credentials file; ``env`` overrides the environment."""
    environ = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": key["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"],
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
    }
    environ.pop("AWS_SESSION_TOKEN", None)
    aws = str(Path(sys.executable).with_name("aws"))
    return subprocess.run(
        [aws, "--endpoint-url", server.url, "--output", "json", *args],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
