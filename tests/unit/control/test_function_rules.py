"""A function's layer ARNs, RevisionId and unzipped size are checked with AWS's messages."""

from __future__ import annotations

import pytest

from nimbus.control import function_rules as rules
from nimbus.control.validation import MAX_UNZIPPED_BYTES
from nimbus.errors import InvalidParameterValueError, PreconditionFailedError
from nimbus.model.function import LayerRef
from nimbus.testing.catalog import function_config

LAYER = "arn:aws:lambda:us-east-1:000000000000:layer:deps"


def test_up_to_five_layers_each_a_version_of_its_own_layer_are_accepted() -> None:
    rules.check_layer_arns([f"{LAYER}{n}:1" for n in range(rules.MAX_LAYERS)])


@pytest.mark.parametrize(
    ("arns", "message"),
    [
        ([f"{LAYER}{n}:1" for n in range(6)], "more than 5 layers; this request lists 6"),
        ([f"{LAYER}:latest"], "is not valid"),
        ([f"{LAYER}:1", f"{LAYER}:2"], "Two different versions of the same layer"),
    ],
)
def test_layer_arns_that_aws_refuses(arns: list[str], message: str) -> None:
    with pytest.raises(InvalidParameterValueError, match=message):
        rules.check_layer_arns(arns)


def test_a_stale_revision_id_fails_the_precondition() -> None:
    current = function_config("fn", revision_id="r2")
    rules.check_revision(current, None)
    rules.check_revision(current, "r2")
    with pytest.raises(PreconditionFailedError, match="does not match the latest Revision Id"):
        rules.check_revision(current, "r1")


def test_code_and_layers_count_together_against_the_unzipped_limit() -> None:
    config = function_config("fn", layers=(LayerRef(arn=f"{LAYER}:1", unzipped_size=10),))
    assert rules.layers_size(config) == 10
    rules.check_total_size(MAX_UNZIPPED_BYTES - 10, 10)
    with pytest.raises(InvalidParameterValueError, match=f"is {MAX_UNZIPPED_BYTES + 1} bytes"):
        rules.check_total_size(MAX_UNZIPPED_BYTES - 9, 10)
