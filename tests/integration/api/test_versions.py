"""End to end: published versions (PublishVersion, ListVersionsByFunction, qualified reads,
deleting versions), driven by boto3."""

from __future__ import annotations

import base64
import hashlib
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import create_function, error_of, make_zip

CODE = make_zip({"app.py": "def handler(event, context):\n    return 1\n"})
CODE_2 = make_zip({"app.py": "def handler(event, context):\n    return 2\n"})
ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def settle(lam: Any, name: str) -> dict[str, Any]:
    """Wait (briefly) until $LATEST is Active and its last update finished."""
    deadline = time.monotonic() + 10
    while True:
        config: dict[str, Any] = lam.get_function_configuration(FunctionName=name)
        if config["State"] == "Active" and config["LastUpdateStatus"] == "Successful":
            return config
        assert time.monotonic() < deadline, config
        time.sleep(0.02)


def create(lam: Any, name: str, **overrides: Any) -> dict[str, Any]:
    return create_function(lam, name, code=CODE, **overrides)


def test_publish_snapshots_latest_as_numbered_immutable_versions(lam: Any, fname: str) -> None:
    create(lam, fname, Description="fn")
    settle(lam, fname)
    first = lam.publish_version(FunctionName=fname)
    assert first["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert first["Version"] == "1"
    assert first["FunctionArn"] == f"{ARN}{fname}:1"
    assert first["State"] == "Active"
    assert first["Description"] == "fn"  # the function's, when none is given
    lam.update_function_configuration(FunctionName=fname, MemorySize=256)
    settle(lam, fname)
    second = lam.publish_version(FunctionName=fname, Description="second")
    assert (second["Version"], second["Description"]) == ("2", "second")
    assert second["RevisionId"] != first["RevisionId"]
    one = lam.get_function_configuration(FunctionName=fname, Qualifier="1")
    two = lam.get_function(FunctionName=f"{fname}:2")["Configuration"]
    assert (one["MemorySize"], two["MemorySize"]) == (128, 256)
    assert (one["Version"], two["Version"]) == ("1", "2")
    assert two["FunctionArn"] == f"{ARN}{fname}:2"
    # $LATEST keeps changing; the versions do not.
    lam.update_function_configuration(FunctionName=fname, MemorySize=512)
    settle(lam, fname)
    assert lam.get_function_configuration(FunctionName=fname, Qualifier="2")["MemorySize"] == 256


def test_publish_without_changes_returns_the_latest_version(lam: Any, fname: str) -> None:
    create(lam, fname)
    settle(lam, fname)
    first = lam.publish_version(FunctionName=fname)
    again = lam.publish_version(FunctionName=fname, Description="ignored")
    assert again["Version"] == "1"
    assert again["RevisionId"] == first["RevisionId"]
    lam.update_function_code(FunctionName=fname, ZipFile=CODE_2)
    settle(lam, fname)
    assert lam.publish_version(FunctionName=fname)["Version"] == "2"


def test_publish_preconditions(lam: Any, fname: str) -> None:
    create(lam, fname)
    latest = settle(lam, fname)
    with pytest.raises(ClientError) as exc:
        lam.publish_version(FunctionName=fname, CodeSha256="not-the-hash")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert latest["CodeSha256"] in message
    with pytest.raises(ClientError) as exc:
        lam.publish_version(FunctionName=fname, RevisionId="stale")
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)
    published = lam.publish_version(
        FunctionName=fname, CodeSha256=latest["CodeSha256"], RevisionId=latest["RevisionId"]
    )
    assert published["Version"] == "1"


def test_publish_flag_on_create_and_update_code(lam: Any, fname: str) -> None:
    created = create(lam, fname, Publish=True)
    assert created["Version"] == "1"
    assert created["FunctionArn"] == f"{ARN}{fname}"  # unqualified, as AWS answers Create
    settle(lam, fname)
    updated = lam.update_function_code(FunctionName=fname, ZipFile=CODE_2, Publish=True)
    assert updated["Version"] == "2"
    assert updated["FunctionArn"] == f"{ARN}{fname}:2"  # UpdateFunctionCode: qualified
    assert updated["CodeSha256"] == base64.b64encode(hashlib.sha256(CODE_2).digest()).decode()
    one = lam.get_function_configuration(FunctionName=fname, Qualifier="1")
    assert one["CodeSha256"] == base64.b64encode(hashlib.sha256(CODE).digest()).decode()


def test_list_versions_paginates_latest_first(lam: Any, fname: str) -> None:
    create(lam, fname)
    for memory in (128, 256, 512):
        settle(lam, fname)
        lam.update_function_configuration(FunctionName=fname, MemorySize=memory + 1)
        settle(lam, fname)
        lam.publish_version(FunctionName=fname)
    everything = lam.list_versions_by_function(FunctionName=fname)["Versions"]
    assert [v["Version"] for v in everything] == ["$LATEST", "1", "2", "3"]
    assert everything[0]["FunctionArn"] == f"{ARN}{fname}:$LATEST"
    seen: list[str] = []
    marker = None
    for _ in range(10):
        kwargs: dict[str, Any] = {"FunctionName": fname, "MaxItems": 3}
        if marker:
            kwargs["Marker"] = marker
        page = lam.list_versions_by_function(**kwargs)
        assert len(page["Versions"]) <= 3
        seen += [v["Version"] for v in page["Versions"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == ["$LATEST", "1", "2", "3"]


def test_bad_qualifiers(lam: Any, fname: str) -> None:
    create(lam, fname)
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=fname, Qualifier="99")
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert f"{fname}:99" in message
    with pytest.raises(ClientError) as exc:
        lam.get_function_configuration(FunctionName=fname, Qualifier="no-such-alias")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=fname, Qualifier="bad!")
    assert error_of(exc)[:2] == ("ValidationException", 400)
    with pytest.raises(ClientError) as exc:
        lam.list_versions_by_function(FunctionName=f"{fname}-missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        lam.publish_version(FunctionName=f"{fname}-missing")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_delete_a_version(lam: Any, fname: str) -> None:
    create(lam, fname, Publish=True)
    lam.delete_function(FunctionName=fname, Qualifier="1")
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=fname, Qualifier="1")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    assert [
        v["Version"] for v in lam.list_versions_by_function(FunctionName=fname)["Versions"]
    ] == ["$LATEST"]
    lam.get_function(FunctionName=fname)  # the function itself is still there
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=fname, Qualifier="$LATEST")
    assert error_of(exc)[:2] == ("InvalidParameterValueException", 400)
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=fname, Qualifier="live")
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "Deletion of aliases" in message
    # Version numbers are not reused after a delete.
    lam.update_function_configuration(FunctionName=fname, Timeout=9)
    settle(lam, fname)
    assert lam.publish_version(FunctionName=fname)["Version"] == "2"


def test_a_version_an_alias_points_to_cannot_be_deleted(lam: Any, fname: str) -> None:
    create(lam, fname, Publish=True)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as exc:
        lam.delete_function(FunctionName=fname, Qualifier="1")
    assert error_of(exc) == (
        "ResourceConflictException",
        409,
        "Unable to delete version because the following aliases reference it: [live]",
    )
    lam.delete_alias(FunctionName=fname, Name="live")
    lam.delete_function(FunctionName=fname, Qualifier="1")


def test_deleting_the_function_deletes_its_versions_and_aliases(lam: Any, fname: str) -> None:
    create(lam, fname, Publish=True)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    lam.delete_function(FunctionName=fname)
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=fname, Qualifier="live")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    create(lam, fname)
    assert [
        v["Version"] for v in lam.list_versions_by_function(FunctionName=fname)["Versions"]
    ] == ["$LATEST"]
    assert lam.list_aliases(FunctionName=fname)["Aliases"] == []
    with pytest.raises(ClientError) as exc:
        lam.get_function(FunctionName=fname, Qualifier="1")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
