"""Secrets end to end against a real server: environment variables are sealed at rest and
never written to the server's log, even on error paths; a store written in clear by an older
Nimbus is sealed at start; each environment runs with its execution role's own session."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import deploy
from tests.support import ROLE, NimbusServer, error_of, settle

MARKER = "MARKER-5ecret-c0ffee-1"
UPDATED = "MARKER-5ecret-c0ffee-2"
LEGACY = "MARKER-5ecret-c0ffee-3"
KMS_KEY = "arn:aws:kms:us-east-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"

SOURCE = """
import os

def handler(event, context):
    if event.get("fail"):
        raise ValueError("the handler failed on purpose")
    # Compare here rather than return the value: the check is that it arrived.
    return {
        "secret_ok": os.environ.get("DB_PASSWORD") == event["expect"],
        "key_id": os.environ["AWS_ACCESS_KEY_ID"],
        "has_token": bool(os.environ.get("AWS_SESSION_TOKEN")),
    }
"""

WHOAMI = """
import os, boto3
from botocore.config import Config

def handler(event, context):
    sts = boto3.client("sts", endpoint_url=os.environ["AWS_ENDPOINT_URL"],
                       config=Config(retries={"max_attempts": 0}))
    return sts.get_caller_identity()["Arn"]
"""


def stored_bytes(data_dir: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(data_dir.glob("nimbus.db*")))


def invoke(lam: Any, name: str, event: dict[str, Any]) -> Any:
    response = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode(), LogType="Tail")
    return response, json.loads(response["Payload"].read())


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secrets") / "data"


@pytest.fixture(scope="module")
def first_run(data_dir: Path) -> Iterator[NimbusServer]:
    server = NimbusServer(data_dir=data_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_variables_work_but_are_sealed_and_never_logged(
    first_run: NimbusServer, data_dir: Path
) -> None:
    lam = first_run.client("lambda")
    created = deploy(
        lam,
        "vault",
        SOURCE,
        Environment={"Variables": {"DB_PASSWORD": MARKER}},
        KMSKeyArn=KMS_KEY,
    )
    assert created["KMSKeyArn"] == KMS_KEY
    config = lam.get_function_configuration(FunctionName="vault")
    assert config["Environment"]["Variables"] == {"DB_PASSWORD": MARKER}
    assert config["KMSKeyArn"] == KMS_KEY

    _, body = invoke(lam, "vault", {"expect": MARKER})
    assert body["secret_ok"] is True
    response, body = invoke(lam, "vault", {"fail": True, "expect": MARKER})
    assert response["FunctionError"] == "Unhandled"

    # Error paths that carry the variables in their request.
    with pytest.raises(ClientError) as bad:
        lam.update_function_configuration(
            FunctionName="vault", Environment={"Variables": {"AWS_REGION": MARKER}}
        )
    code, status, message = error_of(bad)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert MARKER not in message
    with pytest.raises(ClientError) as too_big:
        lam.update_function_configuration(
            FunctionName="vault", Environment={"Variables": {"BIG": MARKER * 400}}
        )
    assert MARKER not in error_of(too_big)[2]
    with pytest.raises(ClientError) as bad_key:
        lam.update_function_configuration(FunctionName="vault", KMSKeyArn="alias/mine")
    assert error_of(bad_key)[:2] == ("ValidationException", 400)

    lam.update_function_configuration(
        FunctionName="vault", Environment={"Variables": {"DB_PASSWORD": UPDATED}}
    )
    settle(lam, "vault")
    lam.publish_version(FunctionName="vault")
    _, body = invoke(lam, "vault", {"expect": UPDATED})
    assert body["secret_ok"] is True
    # "" goes back to the default key, and AWS then omits the field.
    lam.update_function_configuration(FunctionName="vault", KMSKeyArn="")
    settle(lam, "vault")
    assert "KMSKeyArn" not in lam.get_function_configuration(FunctionName="vault")

    first_run.stop()
    raw = stored_bytes(data_dir)
    assert raw, "the store must be there to be searched"
    assert b"vault" in raw
    for marker in (MARKER, UPDATED):
        assert marker.encode() not in raw
        assert marker not in first_run.logs()


def test_a_store_written_in_clear_reads_and_is_sealed_at_start(
    first_run: NimbusServer, data_dir: Path
) -> None:
    first_run.stop()  # (the test above stopped it already, unless run alone)
    if not (data_dir / "nimbus.db").exists():
        first_run.start()
        deploy(first_run.client("lambda"), "vault", SOURCE)
        first_run.stop()
    # As an older Nimbus wrote it: the variables in clear in the configuration JSON.
    with sqlite3.connect(data_dir / "nimbus.db") as db:
        (config,) = db.execute(
            "SELECT config FROM function_versions WHERE name = 'vault' AND version = '$LATEST'"
        ).fetchone()
        record = json.loads(config)
        record["environment"] = {"DB_PASSWORD": LEGACY}
        db.execute(
            "UPDATE function_versions SET config = ? WHERE name = 'vault' AND version = '$LATEST'",
            (json.dumps(record),),
        )
    db.close()
    assert LEGACY.encode() in stored_bytes(data_dir)

    again = NimbusServer(data_dir=data_dir)
    with again:
        lam = again.client("lambda")
        assert lam.get_function_configuration(FunctionName="vault")["Environment"] == {
            "Variables": {"DB_PASSWORD": LEGACY}
        }
        _, body = invoke(lam, "vault", {"expect": LEGACY})
        assert body["secret_ok"] is True
    assert LEGACY.encode() not in stored_bytes(data_dir)
    assert LEGACY not in again.logs()


def test_each_environment_runs_as_a_session_of_its_role(
    first_run: NimbusServer, data_dir: Path
) -> None:
    server = NimbusServer(data_dir=data_dir)
    with server:
        lam = server.client("lambda")
        deploy(lam, "whoami", WHOAMI, Timeout=30)
        response = lam.invoke(FunctionName="whoami")
        assert "FunctionError" not in response, response["Payload"].read()
        arn = json.loads(response["Payload"].read())
        # AWS names the execution role's session after the function.
        role_name = ROLE.rsplit("/", 1)[-1]
        assert arn == f"arn:aws:sts::000000000000:assumed-role/{role_name}/whoami"
        # Concurrent environments hold different sessions of that role.
        deploy(lam, "keys", SOURCE)
        keys = {invoke(lam, "keys", {"expect": ""})[1]["key_id"]}
        assert all(key.startswith("ASIA") and key != "ASIANIMBUSNOCREDENTIALS" for key in keys)
