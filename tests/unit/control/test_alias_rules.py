from __future__ import annotations

from typing import Any

import pytest

from nimbus.control import alias_rules
from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.model.alias import AliasTarget


@pytest.mark.parametrize("name", ["live", "prod-1", "A_b", "v2", "1a", "x" * 128])
def test_good_alias_names(name: str) -> None:
    assert alias_rules.alias_name(name) == name


@pytest.mark.parametrize("name", ["", "123", "$LATEST", "bad name", "a:b", "x" * 129, None, 5])
def test_bad_alias_names_are_validation_errors(name: Any) -> None:
    with pytest.raises(ValidationError) as exc:
        alias_rules.alias_name(name)
    assert "(?!^[0-9]+$)([a-zA-Z0-9-_]+)" in exc.value.message


def test_function_version_is_latest_or_a_number() -> None:
    assert alias_rules.function_version("$LATEST") == "$LATEST"
    assert alias_rules.function_version("12") == "12"
    for bad in ("live", "-1", "", None, "1.5"):
        with pytest.raises(ValidationError):
            alias_rules.function_version(bad)


def test_weights_absent_or_empty_mean_none() -> None:
    assert alias_rules.weights(None) == {}
    assert alias_rules.weights({}) == {}
    assert alias_rules.weights({"AdditionalVersionWeights": {}}) == {}


def test_weights_are_parsed_as_floats() -> None:
    assert alias_rules.weights({"AdditionalVersionWeights": {"2": 0.5}}) == {"2": 0.5}
    assert alias_rules.weights({"AdditionalVersionWeights": {"2": 1}}) == {"2": 1.0}
    assert alias_rules.weights({"AdditionalVersionWeights": {"2": 0}}) == {"2": 0.0}


def test_at_most_one_additional_version() -> None:
    with pytest.raises(InvalidParameterValueError, match="cannot be greater than 1"):
        alias_rules.weights({"AdditionalVersionWeights": {"2": 0.1, "3": 0.1}})


@pytest.mark.parametrize("weight", [-0.1, 1.01, 2, "0.5", True, None])
def test_weight_must_be_a_number_between_0_and_1(weight: Any) -> None:
    with pytest.raises(ValidationError, match="additionalVersionWeights"):
        alias_rules.weights({"AdditionalVersionWeights": {"2": weight}})


@pytest.mark.parametrize("version", ["$LATEST", "live", "", "1a"])
def test_additional_version_must_be_a_number(version: str) -> None:
    with pytest.raises(ValidationError, match=r"\[0-9\]\+"):
        alias_rules.weights({"AdditionalVersionWeights": {version: 0.5}})


def test_routing_config_must_be_objects() -> None:
    bad: object
    for bad in ([], "x", {"AdditionalVersionWeights": [1]}):
        with pytest.raises(InvalidParameterValueError):
            alias_rules.weights(bad)


def test_target_without_weights_may_be_latest() -> None:
    assert alias_rules.target("$LATEST", {}) == AliasTarget(version="$LATEST")


def test_weighted_routing_needs_two_different_published_versions() -> None:
    assert alias_rules.target("1", {"2": 0.3}) == AliasTarget(version="1", weights={"2": 0.3})
    with pytest.raises(InvalidParameterValueError, match="already included"):
        alias_rules.target("2", {"2": 0.3})
    with pytest.raises(InvalidParameterValueError, match=r"\$LATEST is not supported"):
        alias_rules.target("$LATEST", {"2": 0.3})


def test_description_at_most_256() -> None:
    assert alias_rules.description("x" * 256) == "x" * 256
    with pytest.raises(ValidationError):
        alias_rules.description("x" * 257)
    with pytest.raises(InvalidParameterValueError):
        alias_rules.description(3)
