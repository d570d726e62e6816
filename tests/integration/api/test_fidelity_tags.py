"""End to end: tags belong to the unqualified function, and AWS's errors for anything else
(LocalStack's AWS-validated test_tag_exceptions / test_tag_versions snapshots, 2025-11)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support import create_function, error_of, make_zip

CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
ARN = "arn:aws:lambda:us-east-1:000000000000:function:"
QUALIFIED = (
    "InvalidParameterValueException",
    400,
    "Tags on function aliases and versions are not supported. Please specify a function ARN.",
)


@pytest.mark.parametrize("qualifier", ["1", "live", "$LATEST", "9999"])
def test_tags_on_a_version_or_alias_arn_are_invalid_parameter_values(
    lam: Any, fname: str, qualifier: str
) -> None:
    create_function(lam, fname, code=CODE, Publish=True, Tags={"team": "a"})
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion="1")
    resource = f"{ARN}{fname}:{qualifier}"
    calls: list[Callable[[], object]] = [
        lambda: lam.tag_resource(Resource=resource, Tags={"b": "2"}),
        lambda: lam.untag_resource(Resource=resource, TagKeys=["team"]),
        lambda: lam.list_tags(Resource=resource),
    ]
    for call in calls:
        with pytest.raises(ClientError) as exc:
            call()
        assert error_of(exc) == QUALIFIED
    assert lam.list_tags(Resource=f"{ARN}{fname}")["Tags"] == {"team": "a"}  # untouched


def test_the_qualifier_is_refused_before_the_function_is_looked_up(lam: Any, fname: str) -> None:
    with pytest.raises(ClientError) as exc:
        lam.tag_resource(Resource=f"{ARN}{fname}:1", Tags={"a": "b"})
    assert error_of(exc) == QUALIFIED
    with pytest.raises(ClientError) as missing:
        lam.tag_resource(Resource=f"{ARN}{fname}", Tags={"a": "b"})
    assert error_of(missing) == (
        "ResourceNotFoundException",
        404,
        f"Function not found: {ARN}{fname}",
    )


@pytest.mark.parametrize(
    "resource", ["plain-name", "arn:aws:lambda:us-east-1:000000000000:foobar:x"]
)
def test_a_resource_that_is_no_taggable_arn_fails_validation(lam: Any, resource: str) -> None:
    with pytest.raises(ClientError) as exc:
        lam.list_tags(Resource=resource)
    code, status, message = error_of(exc)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith(f"1 validation error detected: Value '{resource}' at 'resource'")
