"""End to end: layers (publish, read, list, delete, permissions) and functions that use
them, driven by boto3 — plus `nimbus layer publish`."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
from tests.support import NimbusServer, create_function, error_of, make_zip

CODE = make_zip({"app.py": "def handler(event, context):\n    return 1\n"})
LAYER_ARN = "arn:aws:lambda:us-east-1:000000000000:layer:"
CLI = [sys.executable, "-m", "nimbus.cli"]


def cli_env() -> dict[str, str]:
    # The CLI signs with the administrator key the server was started with.
    return {
        **os.environ,
        "NIMBUS_ADMIN_ACCESS_KEY_ID": ADMIN_ACCESS_KEY_ID,
        "NIMBUS_ADMIN_SECRET_ACCESS_KEY": ADMIN_SECRET_ACCESS_KEY,
    }


def publish(lam: Any, name: str, **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "LayerName": name,
        "Content": {"ZipFile": make_zip({"python/lib.py": f"NAME = {name!r}\n"})},
    }
    params.update(overrides)
    result: dict[str, Any] = lam.publish_layer_version(**params)
    return result


def create(lam: Any, name: str, **overrides: Any) -> dict[str, Any]:
    return create_function(lam, name, code=CODE, **overrides)


def test_publish_and_get_layer_versions(lam: Any, fname: str) -> None:
    content = make_zip({"python/lib.py": "X = 1\n"})
    first = lam.publish_layer_version(
        LayerName=fname,
        Content={"ZipFile": content},
        Description="first",
        CompatibleRuntimes=["python3.11", "python3.12"],
        CompatibleArchitectures=["x86_64"],
        LicenseInfo="MIT",
    )
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert first["Version"] == 1
    assert first["LayerArn"] == f"{LAYER_ARN}{fname}"
    assert first["LayerVersionArn"] == f"{LAYER_ARN}{fname}:1"
    assert (
        first["Content"]["CodeSha256"]
        == base64.b64encode(hashlib.sha256(content).digest()).decode()
    )
    assert first["Content"]["CodeSize"] == len(content)
    assert httpx.get(first["Content"]["Location"]).content == content
    assert first["CompatibleRuntimes"] == ["python3.11", "python3.12"]
    assert first["CompatibleArchitectures"] == ["x86_64"]
    assert (first["Description"], first["LicenseInfo"]) == ("first", "MIT")
    assert first["CreatedDate"].endswith("+0000")
    assert publish(lam, fname)["Version"] == 2
    got = lam.get_layer_version(LayerName=fname, VersionNumber=1)

    def described(answer: dict[str, Any]) -> dict[str, Any]:
        # Content.Location is a presigned URL: its expiry moves with the second it was made.
        content = {**answer["Content"], "Location": answer["Content"]["Location"].split("?")[0]}
        return {k: v for k, v in answer.items() if k != "ResponseMetadata"} | {"Content": content}

    assert described(got) == described(first)
    by_arn = lam.get_layer_version_by_arn(Arn=f"{LAYER_ARN}{fname}:2")
    assert by_arn["Version"] == 2
    by_layer_arn = lam.get_layer_version(LayerName=f"{LAYER_ARN}{fname}", VersionNumber=2)
    assert by_layer_arn["LayerVersionArn"] == f"{LAYER_ARN}{fname}:2"


def test_missing_layer_versions(lam: Any, fname: str) -> None:
    publish(lam, fname)
    calls: tuple[Callable[[], object], ...] = (
        lambda: lam.get_layer_version(LayerName=fname, VersionNumber=5),
        lambda: lam.get_layer_version(LayerName=f"{fname}-none", VersionNumber=1),
        lambda: lam.get_layer_version_by_arn(Arn=f"{LAYER_ARN}{fname}:5"),
    )
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version(LayerName=fname, VersionNumber=0)
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)


def test_bad_publish_input(lam: Any, fname: str) -> None:
    overrides: dict[str, Any]
    for overrides in (
        {"Content": {"ZipFile": b"not a zip"}},
        {"Content": {"ZipFile": make_zip({})}},
        {"Content": {"S3Bucket": "bucket", "S3Key": "key.zip"}},
    ):
        with pytest.raises(ClientError) as exc:
            publish(lam, fname, **overrides)
        assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    for overrides in (
        {"CompatibleRuntimes": ["cobol"]},
        {"CompatibleArchitectures": ["sparc"]},
    ):
        with pytest.raises(ClientError) as exc:
            publish(lam, fname, **overrides)
        assert error_of(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        publish(lam, "bad name!")
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_list_layer_versions_newest_first_with_filters_and_pages(lam: Any, fname: str) -> None:
    publish(lam, fname, CompatibleRuntimes=["python3.11"], CompatibleArchitectures=["x86_64"])
    publish(lam, fname, CompatibleRuntimes=["python3.12"], CompatibleArchitectures=["arm64"])
    publish(lam, fname, CompatibleRuntimes=["python3.11"], CompatibleArchitectures=["arm64"])
    listed = lam.list_layer_versions(LayerName=fname)["LayerVersions"]
    assert [v["Version"] for v in listed] == [3, 2, 1]
    assert "Content" not in listed[0]
    by_runtime = lam.list_layer_versions(LayerName=fname, CompatibleRuntime="python3.11")
    assert [v["Version"] for v in by_runtime["LayerVersions"]] == [3, 1]
    by_both = lam.list_layer_versions(
        LayerName=fname, CompatibleRuntime="python3.11", CompatibleArchitecture="arm64"
    )
    assert [v["Version"] for v in by_both["LayerVersions"]] == [3]
    first_page = lam.list_layer_versions(LayerName=fname, MaxItems=2)
    assert [v["Version"] for v in first_page["LayerVersions"]] == [3, 2]
    rest = lam.list_layer_versions(LayerName=fname, MaxItems=2, Marker=first_page["NextMarker"])
    assert [v["Version"] for v in rest["LayerVersions"]] == [1]
    assert "NextMarker" not in rest
    assert lam.list_layer_versions(LayerName=f"{fname}-none")["LayerVersions"] == []


def test_list_layers_shows_the_latest_matching_version(lam: Any, fname: str) -> None:
    names = [f"{fname}-a", f"{fname}-b", f"{fname}-c"]
    publish(lam, names[0], CompatibleRuntimes=["python3.11"])
    publish(lam, names[0], CompatibleRuntimes=["python3.12"])
    publish(lam, names[1], CompatibleRuntimes=["python3.12"])
    publish(lam, names[2], CompatibleRuntimes=["python3.11"])

    def listed(**filters: Any) -> dict[str, int]:
        found: dict[str, int] = {}
        marker = None
        for _ in range(100):
            kwargs: dict[str, Any] = {"MaxItems": 2, **filters}
            if marker:
                kwargs["Marker"] = marker
            page = lam.list_layers(**kwargs)
            for item in page["Layers"]:
                assert item["LayerArn"] == f"{LAYER_ARN}{item['LayerName']}"
                found[item["LayerName"]] = item["LatestMatchingVersion"]["Version"]
            marker = page.get("NextMarker")
            if not marker:
                break
        return {k: v for k, v in found.items() if k in names}

    assert listed() == {names[0]: 2, names[1]: 1, names[2]: 1}
    assert listed(CompatibleRuntime="python3.11") == {names[0]: 1, names[2]: 1}
    assert listed(CompatibleRuntime="python3.12") == {names[0]: 2, names[1]: 1}


def test_delete_layer_version(lam: Any, fname: str) -> None:
    publish(lam, fname)
    publish(lam, fname)
    deleted = lam.delete_layer_version(LayerName=fname, VersionNumber=2)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version(LayerName=fname, VersionNumber=2)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    assert [v["Version"] for v in lam.list_layer_versions(LayerName=fname)["LayerVersions"]] == [1]
    lam.delete_layer_version(LayerName=fname, VersionNumber=2)  # again: still 204
    # Numbers are never reused.
    assert publish(lam, fname)["Version"] == 3


def test_functions_use_layers(lam: Any, fname: str) -> None:
    layer = publish(lam, fname)
    created = create(lam, fname, Layers=[layer["LayerVersionArn"]])
    assert created["Layers"] == [
        {"Arn": layer["LayerVersionArn"], "CodeSize": layer["Content"]["CodeSize"]}
    ]
    updated = lam.update_function_configuration(FunctionName=fname, Layers=[])
    assert "Layers" not in updated


def test_a_deleted_layer_version_still_serves_functions_that_use_it(lam: Any, fname: str) -> None:
    layer = publish(lam, fname)
    create(lam, fname, Layers=[layer["LayerVersionArn"]])
    lam.delete_layer_version(LayerName=fname, VersionNumber=1)
    config = lam.get_function(FunctionName=fname)["Configuration"]
    assert [item["Arn"] for item in config["Layers"]] == [layer["LayerVersionArn"]]
    # ...but no new function can add it.
    with pytest.raises(ClientError) as exc:
        create(lam, f"{fname}-new", Layers=[layer["LayerVersionArn"]])
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert message == f"Layer version {layer['LayerVersionArn']} does not exist."


def test_layer_rules_on_functions(lam: Any, fname: str) -> None:
    arns = [publish(lam, f"{fname}-{i}")["LayerVersionArn"] for i in range(6)]
    with pytest.raises(ClientError) as exc:
        create(lam, fname, Layers=arns)
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    create(lam, fname, Layers=arns[:5])
    missing = f"{LAYER_ARN}{fname}-none:1"
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName=fname, Layers=[missing])
    assert error_of(exc) == (
        "InvalidParameterValueException",
        400,
        f"Layer version {missing} does not exist.",
    )
    other_region = arns[0].replace("us-east-1", "eu-west-1")
    with pytest.raises(ClientError) as exc:
        lam.update_function_configuration(FunctionName=fname, Layers=[other_region])
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    assert len(lam.get_function_configuration(FunctionName=fname)["Layers"]) == 5


def zeros(path: str, megabytes: int) -> bytes:
    """A small zip holding one file of ``megabytes`` MiB of zeros."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
        archive.open(path, "w", force_zip64=True) as big,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(megabytes):
            big.write(chunk)
    return buffer.getvalue()


def test_function_plus_layers_over_250_mb_unzipped_is_rejected(lam: Any, fname: str) -> None:
    content = zeros("python/big.bin", 200)
    big_layers = [
        publish(lam, f"{fname}-{i}", Content={"ZipFile": content})["LayerVersionArn"]
        for i in range(2)
    ]
    with pytest.raises(ClientError) as exc:
        create(lam, fname, Layers=big_layers)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "262144000" in message
    # One big layer fits; new code that pushes the total over the limit does not.
    create(lam, fname, Layers=big_layers[:1])
    with pytest.raises(ClientError) as exc:
        lam.update_function_code(FunctionName=fname, ZipFile=zeros("app.bin", 60))
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "262144000" in message


def test_layer_version_permissions(lam: Any, fname: str) -> None:
    arn = publish(lam, fname)["LayerVersionArn"]
    with pytest.raises(ClientError) as exc:
        lam.get_layer_version_policy(LayerName=fname, VersionNumber=1)
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    added = lam.add_layer_version_permission(
        LayerName=fname,
        VersionNumber=1,
        StatementId="everyone",
        Action="lambda:GetLayerVersion",
        Principal="*",
    )
    assert added["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert json.loads(added["Statement"]) == {
        "Sid": "everyone",
        "Effect": "Allow",
        "Principal": "*",
        "Action": "lambda:GetLayerVersion",
        "Resource": arn,
    }
    with pytest.raises(ClientError) as exc:
        lam.add_layer_version_permission(
            LayerName=fname,
            VersionNumber=1,
            StatementId="account",
            Action="lambda:GetLayerVersion",
            Principal="123456789012",
            RevisionId="stale",
        )
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)
    second = lam.add_layer_version_permission(
        LayerName=fname,
        VersionNumber=1,
        StatementId="account",
        Action="lambda:GetLayerVersion",
        Principal="123456789012",
        RevisionId=added["RevisionId"],
    )
    with pytest.raises(ClientError) as exc:
        lam.add_layer_version_permission(
            LayerName=fname,
            VersionNumber=1,
            StatementId="account",
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
    assert error_of(exc)[:2] == ("ResourceConflictException", 409)
    with pytest.raises(ClientError) as exc:
        lam.add_layer_version_permission(
            LayerName=fname,
            VersionNumber=1,
            StatementId="x",
            Action="lambda:InvokeFunction",
            Principal="*",
        )
    assert error_of(exc)[:2] == ("ValidationException", 400)
    policy = lam.get_layer_version_policy(LayerName=fname, VersionNumber=1)
    assert policy["RevisionId"] == second["RevisionId"]
    document = json.loads(policy["Policy"])
    assert document["Version"] == "2012-10-17"
    assert [s["Sid"] for s in document["Statement"]] == ["everyone", "account"]
    assert document["Statement"][1]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    removed = lam.remove_layer_version_permission(
        LayerName=fname, VersionNumber=1, StatementId="everyone"
    )
    assert removed["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lam.remove_layer_version_permission(
            LayerName=fname, VersionNumber=1, StatementId="everyone"
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    left = json.loads(lam.get_layer_version_policy(LayerName=fname, VersionNumber=1)["Policy"])
    assert [s["Sid"] for s in left["Statement"]] == ["account"]
    with pytest.raises(ClientError) as exc:
        lam.add_layer_version_permission(
            LayerName=fname,
            VersionNumber=9,
            StatementId="x",
            Action="lambda:GetLayerVersion",
            Principal="*",
        )
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_cli_layer_publish(server: NimbusServer, lam: Any, fname: str, tmp_path: Path) -> None:
    (tmp_path / "python").mkdir()
    (tmp_path / "python" / "helper.py").write_text("VALUE = 42\n")
    result = subprocess.run(
        [
            *CLI,
            "layer",
            "publish",
            fname,
            str(tmp_path),
            "--runtime",
            "python3.11",
            "--runtime",
            "python3.12",
            "--description",
            "from the cli",
            "--endpoint",
            server.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{LAYER_ARN}{fname}:1"
    got = lam.get_layer_version(LayerName=fname, VersionNumber=1)
    assert got["CompatibleRuntimes"] == ["python3.11", "python3.12"]
    assert got["Description"] == "from the cli"
    archive = zipfile.ZipFile(io.BytesIO(httpx.get(got["Content"]["Location"]).content))
    assert archive.namelist() == ["python/helper.py"]
    bad = subprocess.run(
        [
            *CLI,
            "layer",
            "publish",
            fname,
            str(tmp_path),
            "--runtime",
            "cobol",
            "--endpoint",
            server.url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(),
    )
    assert bad.returncode == 1
    assert "ValidationException" in bad.stderr
