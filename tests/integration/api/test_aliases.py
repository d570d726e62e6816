"""End to end: aliases (CreateAlias, GetAlias, UpdateAlias, DeleteAlias, ListAliases) with
weighted routing, driven by boto3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import ROLE, error_of, make_zip, settle

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"


def create_versions(lam: Any, name: str, count: int) -> None:
    """A function with published versions 1..count; version N returns N and has Timeout N."""
    for number in range(1, count + 1):
        code = make_zip({"app.py": f"def handler(event, context):\n    return {number}\n"})
        if number == 1:
            lam.create_function(
                FunctionName=name,
                Runtime="python3.11",
                Role=ROLE,
                Handler="app.handler",
                Code={"ZipFile": code},
                Timeout=number,
                Publish=True,
            )
            continue
        settle(lam, name)
        lam.update_function_code(FunctionName=name, ZipFile=code)
        settle(lam, name)
        lam.update_function_configuration(FunctionName=name, Timeout=number)
        settle(lam, name)
        assert lam.publish_version(FunctionName=name)["Version"] == str(number)


def test_alias_lifecycle(lam: Any, fname: str) -> None:
    create_versions(lam, fname, 2)
    created = lam.create_alias(
        FunctionName=fname, Name="live", FunctionVersion="1", Description="prod"
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert created["AliasArn"] == f"{ARN}{fname}:live"
    assert (created["Name"], created["FunctionVersion"], created["Description"]) == (
        "live",
        "1",
        "prod",
    )
    assert "RoutingConfig" not in created
    got = lam.get_alias(FunctionName=fname, Name="live")
    assert got["RevisionId"] == created["RevisionId"]
    updated = lam.update_alias(
        FunctionName=fname,
        Name="live",
        FunctionVersion="2",
        RevisionId=created["RevisionId"],
    )
    assert (updated["FunctionVersion"], updated["Description"]) == ("2", "prod")
    assert updated["RevisionId"] != created["RevisionId"]
    deleted = lam.delete_alias(FunctionName=fname, Name="live")
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        lam.get_alias(FunctionName=fname, Name="live")
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == f"Cannot find alias arn: {ARN}{fname}:live"
    # Deleting an alias that is not there succeeds, as on AWS.
    lam.delete_alias(FunctionName=fname, Name="live")


def test_reads_through_an_alias_use_its_primary_version(lam: Any, fname: str) -> None:
    create_versions(lam, fname, 2)
    lam.create_alias(
        FunctionName=fname,
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.5}},
    )
    config = lam.get_function_configuration(FunctionName=fname, Qualifier="canary")
    assert (config["Version"], config["Timeout"]) == ("1", 1)
    assert config["FunctionArn"] == f"{ARN}{fname}:canary"
    got = lam.get_function(FunctionName=f"{fname}:canary")["Configuration"]
    assert got["Version"] == "1"
    lam.update_alias(FunctionName=fname, Name="canary", FunctionVersion="2", RoutingConfig={})
    assert lam.get_function_configuration(FunctionName=fname, Qualifier="canary")["Timeout"] == 2


def test_weighted_routing_config_roundtrip(lam: Any, fname: str) -> None:
    create_versions(lam, fname, 3)
    created = lam.create_alias(
        FunctionName=fname,
        Name="canary",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}},
    )
    assert created["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}
    # Changing only the primary version keeps the weights.
    moved = lam.update_alias(FunctionName=fname, Name="canary", FunctionVersion="3")
    assert moved["RoutingConfig"] == {"AdditionalVersionWeights": {"2": 0.1}}
    cleared = lam.update_alias(
        FunctionName=fname, Name="canary", RoutingConfig={"AdditionalVersionWeights": {}}
    )
    assert "RoutingConfig" not in cleared
    assert cleared["FunctionVersion"] == "3"


@pytest.mark.parametrize(
    ("version", "routing", "expected"),
    [
        ("1", {"2": 0.1, "3": 0.1}, ("InvalidParameterValueException", 400)),
        ("1", {"2": 1.5}, ("ValidationException", 400)),
        ("1", {"1": 0.5}, ("InvalidParameterValueException", 400)),
        ("$LATEST", {"2": 0.5}, ("InvalidParameterValueException", 400)),
        ("1", {"$LATEST": 0.5}, ("ValidationException", 400)),
        ("1", {"9": 0.5}, ("ResourceNotFoundException", 404)),
        ("9", {}, ("ResourceNotFoundException", 404)),
    ],
)
def test_routing_rules(
    lam: Any, fname: str, version: str, routing: dict[str, float], expected: tuple[str, int]
) -> None:
    create_versions(lam, fname, 3)
    with pytest.raises(ClientError) as exc:
        lam.create_alias(
            FunctionName=fname,
            Name="bad",
            FunctionVersion=version,
            RoutingConfig={"AdditionalVersionWeights": routing},
        )
    assert error_of(exc)[:2] == expected
    assert lam.list_aliases(FunctionName=fname)["Aliases"] == []


def test_alias_to_latest_without_weights_is_allowed(lam: Any, fname: str) -> None:
    create_versions(lam, fname, 1)
    created = lam.create_alias(FunctionName=fname, Name="head", FunctionVersion="$LATEST")
    assert created["FunctionVersion"] == "$LATEST"
    config = lam.get_function_configuration(FunctionName=fname, Qualifier="head")
    assert config["Version"] == "$LATEST"


@pytest.mark.parametrize("name", ["123", "bad name!", "x" * 129])
def test_bad_alias_names_are_validation_errors(lam: Any, fname: str, name: str) -> None:
    create_versions(lam, fname, 1)
    with pytest.raises(ClientError) as exc:
        lam.create_alias(FunctionName=fname, Name=name, FunctionVersion="1")
    assert error_of(exc)[:2] == ("ValidationException", 400)


def test_duplicate_alias_conflicts(lam: Any, fname: str) -> None:
    create_versions(lam, fname, 1)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as exc:
        lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    assert error_of(exc) == (
        "ResourceConflictException",
        409,
        f"Alias already exists: {ARN}{fname}:live",
    )


def test_update_preconditions_and_missing_alias(lam: Any, fname: str) -> None:
    create_versions(lam, fname, 2)
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    with pytest.raises(ClientError) as exc:
        lam.update_alias(FunctionName=fname, Name="live", FunctionVersion="2", RevisionId="x")
    assert error_of(exc)[:2] == ("PreconditionFailedException", 412)
    assert lam.get_alias(FunctionName=fname, Name="live")["FunctionVersion"] == "1"
    with pytest.raises(ClientError) as exc:
        lam.update_alias(FunctionName=fname, Name="nope", FunctionVersion="2")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as exc:
        lam.update_alias(FunctionName=fname, Name="live", FunctionVersion="7")
    assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_aliases_of_a_missing_function_are_not_found(lam: Any, fname: str) -> None:
    calls: tuple[Callable[[], object], ...] = (
        lambda: lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1"),
        lambda: lam.get_alias(FunctionName=fname, Name="live"),
        lambda: lam.delete_alias(FunctionName=fname, Name="live"),
        lambda: lam.list_aliases(FunctionName=fname),
    )
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc)[:2] == ("ResourceNotFoundException", 404)


def test_list_aliases_paginates_and_filters_by_version(lam: Any, fname: str) -> None:
    create_versions(lam, fname, 2)
    for index, name in enumerate(["a", "b", "c", "d", "e"]):
        lam.create_alias(FunctionName=fname, Name=name, FunctionVersion=str(1 + index % 2))
    seen: list[str] = []
    marker = None
    for _ in range(10):
        kwargs: dict[str, Any] = {"FunctionName": fname, "MaxItems": 2}
        if marker:
            kwargs["Marker"] = marker
        page = lam.list_aliases(**kwargs)
        assert len(page["Aliases"]) <= 2
        seen += [a["Name"] for a in page["Aliases"]]
        marker = page.get("NextMarker")
        if not marker:
            break
    assert seen == ["a", "b", "c", "d", "e"]
    filtered = lam.list_aliases(FunctionName=fname, FunctionVersion="2")["Aliases"]
    assert [a["Name"] for a in filtered] == ["b", "d"]


def test_invoking_an_alias_routes_by_weight(lam: Any, fname: str) -> None:
    create_versions(lam, fname, 2)
    lam.create_alias(
        FunctionName=fname,
        Name="all-2",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 1.0}},
    )
    lam.create_alias(
        FunctionName=fname,
        Name="none-2",
        FunctionVersion="1",
        RoutingConfig={"AdditionalVersionWeights": {"2": 0.0}},
    )
    for alias, version in (("all-2", "2"), ("none-2", "1")):
        result = lam.invoke(FunctionName=fname, Qualifier=alias)
        assert result["ExecutedVersion"] == version
        assert result["Payload"].read() == version.encode()
    with pytest.raises(ClientError) as exc:
        lam.invoke(FunctionName=fname, Qualifier="missing")
    code, status, message = error_of(exc)
    assert (code, status) == ("ResourceNotFoundException", 404)
    assert message == f"Function not found: {ARN}{fname}:missing"
