"""End to end: every paginated Lambda list walks all of its items exactly once with boto3's
own paginators (botocore's paginators-1.json: Marker in, NextMarker out, MaxItems the page
size), at page sizes 1 and 2 — and hand-driven MaxItems + Marker does the same."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import create_function, make_zip, settle

CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
LAYER = make_zip({"python/lib.py": "X = 1\n"})
PAGE_SIZES = [1, 2]


def walk(lam: Any, operation: str, key: str, page_size: int, **params: Any) -> list[Any]:
    pages = lam.get_paginator(operation).paginate(
        **params, PaginationConfig={"PageSize": page_size}
    )
    items: list[Any] = []
    for page in pages:
        assert len(page[key]) <= page_size
        items.extend(page[key])
    return items


def with_versions(lam: Any, name: str, count: int) -> None:
    """A function with versions 1..count (each publish after a real change)."""
    create_function(lam, name, code=CODE)
    for n in range(1, count + 1):
        settle(lam, name)
        lam.update_function_configuration(FunctionName=name, Timeout=n + 1)
        settle(lam, name)
        assert lam.publish_version(FunctionName=name)["Version"] == str(n)


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_list_versions_by_function(lam: Any, fname: str, page_size: int) -> None:
    with_versions(lam, fname, 3)
    versions = walk(lam, "list_versions_by_function", "Versions", page_size, FunctionName=fname)
    assert [v["Version"] for v in versions] == ["$LATEST", "1", "2", "3"]


def test_list_versions_by_hand_with_max_items_and_marker(lam: Any, fname: str) -> None:
    with_versions(lam, fname, 3)
    first = lam.list_versions_by_function(FunctionName=fname, MaxItems=2)
    assert [v["Version"] for v in first["Versions"]] == ["$LATEST", "1"]
    second = lam.list_versions_by_function(
        FunctionName=fname, MaxItems=2, Marker=first["NextMarker"]
    )
    assert [v["Version"] for v in second["Versions"]] == ["2", "3"]
    assert "NextMarker" not in second


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_list_functions(lam: Any, fname: str, page_size: int) -> None:
    mine = [f"{fname}-{n}" for n in range(3)]
    for name in mine:
        create_function(lam, name, code=CODE)
    names = [f["FunctionName"] for f in walk(lam, "list_functions", "Functions", page_size)]
    assert len(names) == len(set(names))  # each exactly once
    assert set(mine) <= set(names)
    assert names == sorted(names)


def test_one_page_holds_at_most_fifty_as_on_aws(lam: Any, fname: str) -> None:
    """ListFunctions and ListVersionsByFunction accept MaxItems up to 10,000 but "return a
    maximum of 50 items in each response, even if you set the number higher" (botocore's
    documentation of MaxItems): a client walking NextMarker still sees everything."""
    extra = [f"{fname}-{n}" for n in range(51)]
    for name in extra:
        create_function(lam, name, code=CODE)
    try:
        page = lam.list_functions(MaxItems=10_000)
        assert len(page["Functions"]) == 50
        assert "NextMarker" in page
        names = [f["FunctionName"] for f in walk(lam, "list_functions", "Functions", 10_000)]
        assert set(extra) <= set(names)
    finally:
        for name in extra:  # the session's server is shared: leave its listing small
            lam.delete_function(FunctionName=name)


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_list_aliases(lam: Any, fname: str, page_size: int) -> None:
    create_function(lam, fname, code=CODE)
    for alias in ("a", "b", "c"):
        lam.create_alias(FunctionName=fname, Name=alias, FunctionVersion="$LATEST")
    aliases = walk(lam, "list_aliases", "Aliases", page_size, FunctionName=fname)
    assert [a["Name"] for a in aliases] == ["a", "b", "c"]


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_list_layers_and_layer_versions(lam: Any, fname: str, page_size: int) -> None:
    layers = [f"{fname}-{n}" for n in range(3)]
    for layer in layers:
        lam.publish_layer_version(LayerName=layer, Content={"ZipFile": LAYER})
    for _ in range(2):
        lam.publish_layer_version(LayerName=layers[0], Content={"ZipFile": LAYER})
    listed = [item["LayerName"] for item in walk(lam, "list_layers", "Layers", page_size)]
    assert len(listed) == len(set(listed))
    assert set(layers) <= set(listed)
    versions = walk(lam, "list_layer_versions", "LayerVersions", page_size, LayerName=layers[0])
    assert [v["Version"] for v in versions] == [3, 2, 1]


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_list_function_event_invoke_configs(lam: Any, fname: str, page_size: int) -> None:
    with_versions(lam, fname, 2)
    for qualifier in ("$LATEST", "1", "2"):
        lam.put_function_event_invoke_config(
            FunctionName=fname, Qualifier=qualifier, MaximumRetryAttempts=1
        )
    configs = walk(
        lam,
        "list_function_event_invoke_configs",
        "FunctionEventInvokeConfigs",
        page_size,
        FunctionName=fname,
    )
    arns = [c["FunctionArn"] for c in configs]
    assert len(arns) == 3 == len(set(arns))
    assert {arn.rsplit(":", 1)[1] for arn in arns} == {"$LATEST", "1", "2"}


@pytest.mark.parametrize("page_size", PAGE_SIZES)
def test_list_provisioned_concurrency_configs(lam: Any, fname: str, page_size: int) -> None:
    with_versions(lam, fname, 3)
    for version in ("1", "2", "3"):
        lam.put_provisioned_concurrency_config(
            FunctionName=fname, Qualifier=version, ProvisionedConcurrentExecutions=1
        )
    try:
        configs = walk(
            lam,
            "list_provisioned_concurrency_configs",
            "ProvisionedConcurrencyConfigs",
            page_size,
            FunctionName=fname,
        )
        assert sorted(c["FunctionArn"].rsplit(":", 1)[1] for c in configs) == ["1", "2", "3"]
    finally:
        lam.delete_function(FunctionName=fname)  # its environments go with it
