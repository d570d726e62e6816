"""End to end: code signing with boto3 against a real server, code signed by `nimbus sign`
(run as a subprocess, as a user runs it).

- code signing configs: create, get, update, list (boto3's paginator), delete, 409 in use;
- Enforce refuses an unsigned zip (CodeVerificationFailedException) and a tampered one
  (InvalidCodeSignatureException), accepts one `nimbus sign` signed, and the function runs;
- Warn deploys unsigned code and the server logs a warning line; a tampered zip is still
  refused.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.support import NimbusServer, create_function, error_of, make_zip, settle

SOURCE = "def handler(event, context):\n    return {'signed': True, 'echo': event}\n"


def nimbus(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "nimbus.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def signing(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A key made by `nimbus sign keygen`, a zip signed with it, an unsigned one and a
    tampered copy of the signed one."""
    where = tmp_path_factory.mktemp("signing")
    arn = nimbus("sign", "keygen", "release", "--out", str(where / "keys"))
    unsigned = where / "fn.zip"
    unsigned.write_bytes(make_zip({"app.py": SOURCE}))
    signed_arn = nimbus(
        "sign", "zip", "--key", str(where / "keys" / "release.pem"), "--profile", "release",
        str(unsigned), "-o", str(where / "fn-signed.zip"),
    )  # fmt: skip
    assert signed_arn == arn
    signed = (where / "fn-signed.zip").read_bytes()
    # Other code under the signed zip's signature: a valid zip whose content was not signed.
    tampered = io.BytesIO(make_zip({"app.py": SOURCE.replace("True", "False")}))
    with zipfile.ZipFile(tampered, "a") as archive, zipfile.ZipFile(io.BytesIO(signed)) as src:
        archive.comment = src.comment
    return {
        "arn": arn,
        "key": str(where / "keys" / "release.pem"),
        "unsigned": unsigned.read_bytes(),
        "signed": signed,
        "tampered": tampered.getvalue(),
    }


def new_config(lam: Any, profile: str, policy: str) -> str:
    created = lam.create_code_signing_config(
        Description=f"{policy} test",
        AllowedPublishers={"SigningProfileVersionArns": [profile]},
        CodeSigningPolicies={"UntrustedArtifactOnDeployment": policy},
    )
    arn: str = created["CodeSigningConfig"]["CodeSigningConfigArn"]
    return arn


def create(lam: Any, name: str, code: bytes, csc: str | None = None) -> dict[str, Any]:
    signing: dict[str, Any] = {} if csc is None else {"CodeSigningConfigArn": csc}
    return create_function(lam, name, code=code, **signing)


def invoke(lam: Any, name: str) -> Any:
    reply = lam.invoke(FunctionName=name, Payload=json.dumps({"n": 1}).encode())
    assert "FunctionError" not in reply
    return json.loads(reply["Payload"].read())


def test_code_signing_configs_are_created_read_updated_listed_and_deleted(
    lam: Any, signing: dict[str, Any]
) -> None:
    created = lam.create_code_signing_config(
        Description="release builds",
        AllowedPublishers={"SigningProfileVersionArns": [signing["arn"]]},
        Tags={"team": "core"},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    config = created["CodeSigningConfig"]
    arn = config["CodeSigningConfigArn"]
    assert config["CodeSigningConfigId"].startswith("csc-")
    assert len(config["CodeSigningConfigId"]) == 21
    assert arn == (
        f"arn:aws:lambda:us-east-1:000000000000:code-signing-config:{config['CodeSigningConfigId']}"
    )
    assert config["AllowedPublishers"] == {"SigningProfileVersionArns": [signing["arn"]]}
    assert config["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Warn"}
    assert config["Description"] == "release builds" and config["LastModified"]

    assert lam.get_code_signing_config(CodeSigningConfigArn=arn)["CodeSigningConfig"] == config
    updated = lam.update_code_signing_config(
        CodeSigningConfigArn=arn, CodeSigningPolicies={"UntrustedArtifactOnDeployment": "Enforce"}
    )["CodeSigningConfig"]
    assert updated["CodeSigningPolicies"] == {"UntrustedArtifactOnDeployment": "Enforce"}
    assert updated["Description"] == "release builds"

    others = [new_config(lam, signing["arn"], "Warn") for _ in range(2)]
    listed = [
        item["CodeSigningConfigArn"]
        for page in lam.get_paginator("list_code_signing_configs").paginate(
            PaginationConfig={"PageSize": 1}
        )
        for item in page["CodeSigningConfigs"]
    ]
    assert {arn, *others} <= set(listed) and len(listed) == len(set(listed))

    for each in (arn, *others):
        response = lam.delete_code_signing_config(CodeSigningConfigArn=each)
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_code_signing_config(CodeSigningConfigArn=arn)


def test_enforce_refuses_unsigned_and_tampered_code_and_runs_signed_code(
    lam: Any, fname: str, signing: dict[str, Any]
) -> None:
    csc = new_config(lam, signing["arn"], "Enforce")
    with pytest.raises(lam.exceptions.CodeVerificationFailedException) as refused:
        create(lam, fname, signing["unsigned"], csc)
    _, status, message = error_of(refused)
    assert status == 400
    assert message.startswith("Lambda cannot deploy the function.")
    assert "The code is not signed" in message
    with pytest.raises(lam.exceptions.InvalidCodeSignatureException) as broken:
        create(lam, fname, signing["tampered"], csc)
    assert error_of(broken)[1] == 400 and "integrity check" in error_of(broken)[2]
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.get_function(FunctionName=fname)  # nothing was created

    created = create(lam, fname, signing["signed"], csc)
    assert created["SigningProfileVersionArn"] == signing["arn"]
    # CodeSha256 is of the zip as uploaded, signature included (as AWS: of the signed zip).
    digest = base64.b64encode(hashlib.sha256(signing["signed"]).digest()).decode()
    assert created["CodeSha256"] == digest
    settle(lam, fname)
    assert invoke(lam, fname) == {"signed": True, "echo": {"n": 1}}
    got = lam.get_function_code_signing_config(FunctionName=fname)
    assert (got["CodeSigningConfigArn"], got["FunctionName"]) == (csc, fname)
    assert lam.list_functions_by_code_signing_config(CodeSigningConfigArn=csc)["FunctionArns"] == [
        f"arn:aws:lambda:us-east-1:000000000000:function:{fname}"
    ]

    with pytest.raises(lam.exceptions.CodeVerificationFailedException):
        lam.update_function_code(FunctionName=fname, ZipFile=signing["unsigned"])
    with pytest.raises(lam.exceptions.ResourceConflictException):
        lam.delete_code_signing_config(CodeSigningConfigArn=csc)
    lam.delete_function(FunctionName=fname)
    lam.delete_code_signing_config(CodeSigningConfigArn=csc)  # no function uses it any more


def test_warn_deploys_unsigned_code_with_a_warning_but_never_tampered_code(
    lam: Any, server: NimbusServer, fname: str, signing: dict[str, Any]
) -> None:
    create(lam, fname, signing["unsigned"])  # no config yet: nothing is checked
    settle(lam, fname)
    csc = new_config(lam, signing["arn"], "Warn")
    put = lam.put_function_code_signing_config(CodeSigningConfigArn=csc, FunctionName=fname)
    assert (put["CodeSigningConfigArn"], put["FunctionName"]) == (csc, fname)

    updated = lam.update_function_code(FunctionName=fname, ZipFile=signing["unsigned"])
    assert "SigningProfileVersionArn" not in updated
    settle(lam, fname)
    assert invoke(lam, fname) == {"signed": True, "echo": {"n": 1}}
    assert f"code signing: deploying untrusted code to {fname} (Warn policy of {csc})" in (
        server.logs()
    )
    with pytest.raises(lam.exceptions.InvalidCodeSignatureException):
        lam.update_function_code(FunctionName=fname, ZipFile=signing["tampered"])

    lam.delete_function_code_signing_config(FunctionName=fname)
    assert lam.get_function_code_signing_config(FunctionName=fname)["CodeSigningConfigArn"] == ""
    lam.delete_function(FunctionName=fname)
    lam.delete_code_signing_config(CodeSigningConfigArn=csc)


def test_missing_configs_and_functions_get_awss_errors(lam: Any, fname: str) -> None:
    missing = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0000000000000000a"
    with pytest.raises(lam.exceptions.CodeSigningConfigNotFoundException):
        create(lam, fname, make_zip({"app.py": SOURCE}), missing)
    with pytest.raises(lam.exceptions.ResourceNotFoundException):
        lam.list_functions_by_code_signing_config(CodeSigningConfigArn=missing)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as no_function:
        lam.get_function_code_signing_config(FunctionName=fname)
    assert "Function not found" in error_of(no_function)[2]
    with pytest.raises(lam.exceptions.ClientError) as bad:
        lam.get_code_signing_config(CodeSigningConfigArn="csc-nope")
    assert error_of(bad)[0] == "ValidationException"


def test_enforce_checks_the_layers_a_function_adds(
    lam: Any, fname: str, signing: dict[str, Any], tmp_path: Path
) -> None:
    """AWS: "any layers that you add to the function must also be signed by an allowed
    signing profile" — else a layer's python/ could shadow the signed code's modules."""
    layer = tmp_path / "layer.zip"
    layer.write_bytes(make_zip({"python/helper.py": "VALUE = 'from a layer'\n"}))
    unsigned = lam.publish_layer_version(LayerName=fname, Content={"ZipFile": layer.read_bytes()})
    nimbus(
        "sign", "zip", "--key", signing["key"], "--profile", "release", str(layer),
        "-o", str(tmp_path / "layer-signed.zip"),
    )  # fmt: skip
    signed = lam.publish_layer_version(
        LayerName=fname, Content={"ZipFile": (tmp_path / "layer-signed.zip").read_bytes()}
    )
    csc = new_config(lam, signing["arn"], "Enforce")
    create(lam, fname, signing["signed"], csc)
    settle(lam, fname)

    with pytest.raises(lam.exceptions.CodeVerificationFailedException) as refused:
        lam.update_function_configuration(FunctionName=fname, Layers=[unsigned["LayerVersionArn"]])
    assert (
        f"Check the provided signature for {unsigned['LayerVersionArn']}." in (error_of(refused)[2])
    )
    lam.update_function_configuration(FunctionName=fname, Layers=[signed["LayerVersionArn"]])
    settle(lam, fname)
    assert (
        lam.get_function_configuration(FunctionName=fname)["Layers"][0]["Arn"]
        == (signed["LayerVersionArn"])
    )
    # Code deployed later is checked with the layers the function already has.
    with pytest.raises(lam.exceptions.CodeVerificationFailedException):
        lam.update_function_code(FunctionName=fname, ZipFile=signing["unsigned"])
    assert invoke(lam, fname) == {"signed": True, "echo": {"n": 1}}
    lam.delete_function(FunctionName=fname)
    lam.delete_code_signing_config(CodeSigningConfigArn=csc)
