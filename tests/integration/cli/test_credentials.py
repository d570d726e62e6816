"""End to end, with zero set-up as `make run`: the first start prints the administrator key
once and writes it to admin.credentials (0600), a restart prints nothing, and the CLI, signing
with that file, manages keys with `nimbus credentials create | list | delete`."""

from __future__ import annotations

import json
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.integration.cli.helpers import PlainServer, clean_env, nimbus
from tests.integration.invoke.helpers import deploy

ROOT_ARN = "arn:aws:iam::000000000000:root"
_KEY_LINE = re.compile(r"AWS_ACCESS_KEY_ID=(\S+)")
_SECRET_LINE = re.compile(r"AWS_SECRET_ACCESS_KEY=(\S+)")


@dataclass(frozen=True)
class Booted:
    server: PlainServer
    first_stdout: str
    first_stderr: str
    second_stdout: str
    second_stderr: str
    file_after_first: str

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir


@pytest.fixture(scope="module")
def booted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Booted]:
    """A fresh data directory started twice; the second start keeps running."""
    server = PlainServer(data_dir=tmp_path_factory.mktemp("plain") / "data")
    out, err = server.start()
    server.stop()
    file_after_first = (server.data_dir / "admin.credentials").read_text()
    out2, err2 = server.start()
    try:
        yield Booted(
            server=server,
            first_stdout=out.read_text(),
            first_stderr=err.read_text(),
            second_stdout=out2.read_text(),
            second_stderr=err2.read_text(),
            file_after_first=file_after_first,
        )
    finally:
        server.stop()


def client(url: str, service: str, key_id: str, secret: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        config=Config(retries={"max_attempts": 0}),
    )


def printed_key(booted: Booted) -> tuple[str, str]:
    [key_id] = _KEY_LINE.findall(booted.first_stderr)
    [secret] = _SECRET_LINE.findall(booted.first_stderr)
    return key_id, secret


def cli(booted: Booted, *args: str, **env: str) -> Any:
    """`nimbus ARGS` against the booted server, signing with its admin.credentials unless
    ``env`` holds keys."""
    return nimbus(
        *args,
        "--endpoint",
        booted.server.url,
        "--data-dir",
        str(booted.data_dir),
        env=clean_env(**env),
        cwd=booted.data_dir.parent,
    )


def test_first_start_prints_the_key_once_on_stderr_and_writes_it_0600(booted: Booted) -> None:
    key_id, secret = printed_key(booted)
    assert key_id not in booted.first_stdout and secret not in booted.first_stdout
    assert booted.first_stderr.count(secret) == 1
    path = booted.data_dir / "admin.credentials"
    assert str(path.resolve()) in booted.first_stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text == booted.file_after_first  # the restart left it alone
    assert "[nimbus]" in text
    assert f"aws_access_key_id = {key_id}\n" in text
    assert f"aws_secret_access_key = {secret}\n" in text


def test_second_start_prints_no_key(booted: Booted) -> None:
    _, secret = printed_key(booted)
    for output in (booted.second_stderr, booted.second_stdout):
        assert "AWS_SECRET_ACCESS_KEY" not in output
        assert secret not in output


def test_the_printed_key_is_the_accounts_root(booted: Booted) -> None:
    key_id, secret = printed_key(booted)
    identity = client(booted.server.url, "sts", key_id, secret).get_caller_identity()
    assert identity["Arn"] == ROOT_ARN
    assert identity["Account"] == "000000000000"


def test_credentials_create_list_delete_round_trip(booted: Booted) -> None:
    admin_id, _ = printed_key(booted)
    listed = cli(booted, "credentials", "list")
    assert listed.returncode == 0, listed.stderr
    assert admin_id in listed.stdout
    assert "(root)" in listed.stdout

    created = cli(booted, "credentials", "create")
    assert created.returncode == 0, created.stderr
    [new_id] = _KEY_LINE.findall(created.stdout)
    [new_secret] = _SECRET_LINE.findall(created.stdout)
    assert "shown only this once" in created.stderr
    assert new_secret not in created.stderr
    sts = client(booted.server.url, "sts", new_id, new_secret)
    assert sts.get_caller_identity()["Arn"] == ROOT_ARN  # a second administrator key

    listed = cli(booted, "credentials", "list")
    assert admin_id in listed.stdout and new_id in listed.stdout
    assert new_secret not in listed.stdout

    # The new key signs CLI calls too (the environment comes before the file).
    as_new = cli(
        booted,
        "credentials",
        "list",
        "--json",
        AWS_ACCESS_KEY_ID=new_id,
        AWS_SECRET_ACCESS_KEY=new_secret,
    )
    assert as_new.returncode == 0, as_new.stderr
    assert new_id in as_new.stdout

    deleted = cli(booted, "credentials", "delete", new_id)
    assert deleted.returncode == 0, deleted.stderr
    assert new_id not in cli(booted, "credentials", "list").stdout
    with pytest.raises(ClientError) as refused:
        sts.get_caller_identity()
    assert refused.value.response["Error"]["Code"] == "InvalidClientTokenId"
    lam = client(booted.server.url, "lambda", new_id, new_secret)
    with pytest.raises(ClientError) as refused:
        lam.list_functions()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"

    stale = cli(
        booted, "credentials", "list", AWS_ACCESS_KEY_ID=new_id, AWS_SECRET_ACCESS_KEY=new_secret
    )
    assert stale.returncode == 1
    assert stale.stderr.startswith("InvalidClientTokenId: ")
    assert f"signed with {new_id} from AWS_ACCESS_KEY_ID" in stale.stderr
    assert "Traceback" not in stale.stderr


def test_credentials_of_an_iam_user(booted: Booted) -> None:
    admin_id, admin_secret = printed_key(booted)
    client(booted.server.url, "iam", admin_id, admin_secret).create_user(UserName="alice")
    created = cli(booted, "credentials", "create", "--user", "alice", "--json")
    assert created.returncode == 0, created.stderr
    made = json.loads(created.stdout)
    assert made["UserName"] == "alice"
    alice = client(booted.server.url, "sts", made["AccessKeyId"], made["SecretAccessKey"])
    assert alice.get_caller_identity()["Arn"] == "arn:aws:iam::000000000000:user/alice"

    listed = cli(booted, "credentials", "list", "--user", "alice")
    assert listed.returncode == 0, listed.stderr
    [line] = listed.stdout.strip().splitlines()
    assert line.split()[0] == made["AccessKeyId"]
    assert line.split()[1] == "Active"
    assert line.split()[-1] == "alice"

    # alice has no policy: IAM refuses her even her own keys, in one line.
    denied = cli(
        booted,
        "credentials",
        "list",
        AWS_ACCESS_KEY_ID=made["AccessKeyId"],
        AWS_SECRET_ACCESS_KEY=made["SecretAccessKey"],
    )
    assert denied.returncode == 1
    assert denied.stderr.startswith("AccessDenied: ")
    assert len(denied.stderr.strip().splitlines()) == 1

    # The root's key is not alice's.
    wrong_owner = cli(booted, "credentials", "delete", admin_id, "--user", "alice")
    assert wrong_owner.returncode == 1
    assert wrong_owner.stderr.startswith("NoSuchEntity: ")

    deleted = cli(booted, "credentials", "delete", made["AccessKeyId"], "--user", "alice")
    assert deleted.returncode == 0, deleted.stderr
    assert cli(booted, "credentials", "list", "--user", "alice").stdout.strip() == ""


def test_credentials_errors_are_one_line(booted: Booted) -> None:
    missing = cli(booted, "credentials", "list", "--user", "nobody")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "NoSuchEntity: The user with name nobody cannot be found."

    unsigned = nimbus(
        "credentials",
        "list",
        "--endpoint",
        booted.server.url,
        "--data-dir",
        str(booted.data_dir.parent / "elsewhere"),
        cwd=booted.data_dir.parent,
    )
    assert unsigned.returncode == 1
    assert unsigned.stderr.startswith("MissingAuthenticationToken")
    assert "no credentials found" in unsigned.stderr
    assert len(unsigned.stderr.strip().splitlines()) == 1


def test_invoke_with_zero_set_up_signs_with_the_data_directorys_key(booted: Booted) -> None:
    key_id, secret = printed_key(booted)
    deploy(
        client(booted.server.url, "lambda", key_id, secret),
        "zero-setup",
        "def handler(e, c):\n    return {'twice': e['n'] * 2}\n",
    )
    result = cli(booted, "invoke", "zero-setup", "--payload", '{"n": 4}')
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"twice": 8}
