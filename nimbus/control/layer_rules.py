"""Pure validation of layer input and layer ARNs, with AWS's error types and messages."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nimbus.control import validation
from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.model.layer import LayerStatement
from nimbus.runtimes import registry

ARCHITECTURES = ("x86_64", "arm64")
MAX_COMPATIBLE_RUNTIMES = 15
_NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,140}$")
_LAYER_ARN_RE = re.compile(
    r"^arn:(aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d):"
    r"(?P<account>\d{12}):layer:(?P<name>[a-zA-Z0-9_-]+)(:(?P<version>[0-9]+))?$"
)
_STATEMENT_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,100}$")
_PRINCIPAL_RE = re.compile(r"^(\d{12}|\*|arn:(aws[a-zA-Z-]*):iam::\d{12}:root)$")
_ORGANIZATION_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
GET_LAYER_VERSION = "lambda:GetLayerVersion"


@dataclass(frozen=True, kw_only=True)
class LayerArn:
    region: str
    account: str
    name: str
    version: int | None


def parse_arn(text: str) -> LayerArn | None:
    match = _LAYER_ARN_RE.fullmatch(text)
    if match is None:
        return None
    version = match.group("version")
    return LayerArn(
        region=match.group("region"),
        account=match.group("account"),
        name=match.group("name"),
        version=None if version is None else int(version),
    )


def version_arn(text: Any) -> LayerArn:
    """A layer *version* ARN (GetLayerVersionByArn)."""
    parsed = parse_arn(text) if isinstance(text, str) else None
    if parsed is None or parsed.version is None:
        raise ValidationError(
            f"1 validation error detected: Value '{text}' at 'arn' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "arn:(aws[a-zA-Z-]*)?:lambda:[a-z]{2}((-gov)|(-iso(b?)))?-[a-z]+-\\d{1}:\\d{12}:"
            "layer:[a-zA-Z0-9-_]+:[0-9]+"
        )
    return parsed


def layer_name(text: str) -> LayerArn:
    """A ``LayerName`` path parameter: a name or a layer ARN (region and account unset for
    a plain name; the caller checks they are this endpoint's)."""
    if _NAME_RE.fullmatch(text):
        return LayerArn(region="", account="", name=text, version=None)
    parsed = parse_arn(text)
    if parsed is None or parsed.version is not None:
        raise ValidationError(
            f"1 validation error detected: Value '{text}' at 'layerName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{12}:layer:[a-zA-Z0-9-_]+)|"
            "[a-zA-Z0-9-_]+"
        )
    return parsed


def version_number(text: str) -> int:
    # A number beyond AWS's `long` is no number the API can take (nor any store hold).
    number = validation.int64(text)
    if number is None:
        raise ValidationError(
            f"1 validation error detected: Value '{text}' at 'versionNumber' failed to "
            "satisfy constraint: Member must be a number"
        )
    if number < 1:
        raise InvalidParameterValueError("Layer Version Cannot be less than 1")
    return number


def runtime_filter(value: str | None) -> str | None:
    if value is not None and not registry.is_known(value):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'compatibleRuntime' failed to "
            "satisfy constraint: Member must satisfy enum value set: "
            f"[{', '.join(registry.SUPPORTED)}]"
        )
    return value


def architecture_filter(value: str | None) -> str | None:
    if value is not None and value not in ARCHITECTURES:
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'compatibleArchitecture' failed "
            "to satisfy constraint: Member must satisfy enum value set: [x86_64, arm64]"
        )
    return value


def compatible_runtimes(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValueError("CompatibleRuntimes must be a list of runtimes.")
    if len(value) > MAX_COMPATIBLE_RUNTIMES:
        raise ValidationError(
            f"1 validation error detected: Value '[{', '.join(value)}]' at "
            "'compatibleRuntimes' failed to satisfy constraint: Member must have length less "
            f"than or equal to {MAX_COMPATIBLE_RUNTIMES}"
        )
    for runtime in value:
        runtime_filter(runtime)
    return tuple(dict.fromkeys(value))


def compatible_architectures(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameterValueError("CompatibleArchitectures must be a list.")
    if len(value) > len(ARCHITECTURES) or any(v not in ARCHITECTURES for v in value):
        raise ValidationError(
            f"1 validation error detected: Value '[{', '.join(value)}]' at "
            "'compatibleArchitectures' failed to satisfy constraint: Member must satisfy "
            "constraint: [Member must satisfy enum value set: [x86_64, arm64]] and Member must "
            "have length less than or equal to 2"
        )
    return tuple(dict.fromkeys(value))


def optional_text(value: Any, field: str, max_len: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidParameterValueError(f"{field} must be a string.")
    if len(value) > max_len:
        raise ValidationError(
            f"1 validation error detected: Value at '{field[0].lower() + field[1:]}' failed "
            f"to satisfy constraint: Member must have length less than or equal to {max_len}"
        )
    return value


def statement(*, sid: Any, action: Any, principal: Any, organization_id: Any) -> LayerStatement:
    """An AddLayerVersionPermission statement: who may read (GetLayerVersion) the layer."""
    problems: list[str] = []
    if not isinstance(sid, str) or not _STATEMENT_ID_RE.fullmatch(sid):
        problems.append(
            f"Value '{sid}' at 'statementId' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: ([a-zA-Z0-9-_]+)"
        )
    if action != GET_LAYER_VERSION:
        problems.append(
            f"Value '{action}' at 'action' failed to satisfy constraint: Member must satisfy "
            f"regular expression pattern: {GET_LAYER_VERSION}"
        )
    if not isinstance(principal, str) or not _PRINCIPAL_RE.fullmatch(principal):
        problems.append(
            f"Value '{principal}' at 'principal' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: \\d{12}|\\*|arn:(aws[a-zA-Z-]*):iam::\\d{12}:root"
        )
    if organization_id is not None and (
        not isinstance(organization_id, str) or not _ORGANIZATION_RE.fullmatch(organization_id)
    ):
        problems.append(
            f"Value '{organization_id}' at 'organizationId' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}"
        )
    if problems:
        count = len(problems)
        raise ValidationError(
            f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(problems)}"
        )
    if organization_id is not None and principal != "*":
        raise InvalidParameterValueError(
            "OrganizationId can only be given with the principal '*' (every account of the "
            "organization)."
        )
    return LayerStatement(
        sid=str(sid),
        action=str(action),
        principal=str(principal),
        organization_id=None if organization_id is None else str(organization_id),
    )


def statement_document(item: LayerStatement, resource: str) -> dict[str, Any]:
    """A statement as AWS renders it in Statement/Policy JSON."""
    principal: Any = "*"
    if item.principal != "*":
        principal = {
            "AWS": item.principal
            if item.principal.startswith("arn:")
            else f"arn:aws:iam::{item.principal}:root"
        }
    document: dict[str, Any] = {
        "Sid": item.sid,
        "Effect": "Allow",
        "Principal": principal,
        "Action": item.action,
        "Resource": resource,
    }
    if item.organization_id is not None:
        document["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": item.organization_id}}
    return document


def policy_document(statements: Sequence[LayerStatement], resource: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Id": "default",
        "Statement": [statement_document(s, resource) for s in statements],
    }
