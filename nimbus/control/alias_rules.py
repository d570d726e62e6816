"""Pure validation of alias input, with AWS's error types and messages (CreateAlias,
UpdateAlias). Existence of the versions named is checked by the alias service."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.model.alias import AliasTarget
from nimbus.model.function import LATEST

# botocore's Alias shape: (?!^[0-9]+$)([a-zA-Z0-9-_]+), 1-128 characters.
ALIAS_NAME_PATTERN = "(?!^[0-9]+$)([a-zA-Z0-9-_]+)"
_ALIAS_NAME_RE = re.compile(r"^(?![0-9]+$)[a-zA-Z0-9_-]{1,128}$")
_VERSION_RE = re.compile(r"^(\$LATEST|[0-9]{1,16})$")
_NUMBER_RE = re.compile(r"^[0-9]{1,16}$")
MAX_ADDITIONAL_VERSIONS = 1


def alias_name(value: Any) -> str:
    """An alias name: letters, digits, hyphens and underscores, not purely numeric (that
    would read as a version) and so never ``$LATEST``."""
    if not isinstance(value, str) or not _ALIAS_NAME_RE.fullmatch(value):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'name' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {ALIAS_NAME_PATTERN}"
        )
    return value


def function_version(value: Any) -> str:
    if not isinstance(value, str) or not _VERSION_RE.fullmatch(value):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'functionVersion' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "(\\$LATEST|[0-9]+)"
        )
    return value


def description(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidParameterValueError("Description must be a string.")
    if len(value) > 256:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'description' failed to satisfy "
            "constraint: Member must have length less than or equal to 256"
        )
    return value


def weights(routing_config: Any) -> dict[str, float]:
    """The ``AdditionalVersionWeights`` of a ``RoutingConfig`` (absent or empty: none)."""
    if routing_config is None:
        return {}
    if not isinstance(routing_config, Mapping):
        raise InvalidParameterValueError(
            "RoutingConfig must be an object with AdditionalVersionWeights."
        )
    given = routing_config.get("AdditionalVersionWeights")
    if given is None:
        return {}
    if not isinstance(given, Mapping):
        raise InvalidParameterValueError(
            "AdditionalVersionWeights must be a map of version to weight."
        )
    if len(given) > MAX_ADDITIONAL_VERSIONS:
        raise InvalidParameterValueError(
            "Number of items in AdditionalVersionWeights cannot be greater than "
            f"{MAX_ADDITIONAL_VERSIONS}"
        )
    result: dict[str, float] = {}
    for version, weight in given.items():
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not 0.0 <= weight <= 1.0
        ):
            raise ValidationError(
                f"1 validation error detected: Value '{{{version}={weight}}}' at "
                "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map "
                "value must satisfy constraint: [Member must have value less than or equal to "
                "1.0, Member must have value greater than or equal to 0.0, Member must not be "
                "null]"
            )
        if not isinstance(version, str) or not _NUMBER_RE.fullmatch(version):
            raise ValidationError(
                f"1 validation error detected: Value '{{{version}={weight}}}' at "
                "'routingConfig.additionalVersionWeights' failed to satisfy constraint: Map "
                "keys must satisfy constraint: [Member must have length less than or equal to "
                "1024, Member must have length greater than or equal to 1, Member must "
                "satisfy regular expression pattern: [0-9]+, Member must not be null]"
            )
        result[version] = float(weight)
    return result


def target(version: str, additional: Mapping[str, float]) -> AliasTarget:
    """Check a primary version and its additional weights together: weighted routing is
    only between two different published versions (never ``$LATEST``)."""
    for extra in additional:
        if extra == version:
            raise InvalidParameterValueError(
                f"Invalid function version {version}. Function version {version} is already "
                "included in routing configuration."
            )
    if additional and version == LATEST:
        raise InvalidParameterValueError(
            f"{LATEST} is not supported for an alias pointing to more than 1 version"
        )
    return AliasTarget(version=version, weights=dict(additional))
