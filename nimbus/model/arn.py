"""Function and layer names, ARNs and qualifiers, parsed the way AWS Lambda accepts them.

AWS accepts a function as a name (``my-fn``), a name with a qualifier (``my-fn:prod``), a
partial ARN (``123456789012:function:my-fn``) or a full ARN
(``arn:aws:lambda:us-east-1:123456789012:function:my-fn[:qualifier]``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from nimbus.errors import (
    AccessDeniedError,
    InvalidParameterValueError,
    ResourceNotFoundError,
    ValidationError,
)

NAME_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
QUALIFIER_RE = re.compile(r"^(\$LATEST|[a-zA-Z0-9_-]{1,128})$")
_FULL_ARN_RE = re.compile(
    r"^arn:(?P<partition>aws[a-zA-Z-]*)?:lambda:(?P<region>[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d):"
    r"(?P<account>\d{12}):function:(?P<name>[^:]+)(:(?P<qualifier>[^:]+))?$"
)
_PARTIAL_ARN_RE = re.compile(
    r"^(?P<account>\d{12}):function:(?P<name>[^:]+)(:(?P<qualifier>[^:]+))?$"
)
_NAME_QUALIFIER_RE = re.compile(r"^(?P<name>[^:]+)(:(?P<qualifier>[^:]+))?$")
LATEST = "$LATEST"


@dataclass(frozen=True, kw_only=True)
class FunctionRef:
    """What a caller named: a function, maybe with a qualifier (version or alias)."""

    name: str
    qualifier: str | None = None
    region: str | None = None
    account: str | None = None


def parse_function_ref(text: str, *, allow_qualifier: bool = True) -> FunctionRef:
    """Parse any of the forms AWS accepts for ``FunctionName``."""
    if not text or len(text) > 256:
        raise ValidationError(
            f"1 validation error detected: Value '{text}' at 'functionName' failed to satisfy "
            "constraint: Member must have length between 1 and 140"
        )
    match = (
        _FULL_ARN_RE.fullmatch(text)
        or _PARTIAL_ARN_RE.fullmatch(text)
        or _NAME_QUALIFIER_RE.fullmatch(text)
    )
    if match is None:
        raise _bad_name(text)
    groups = match.groupdict()
    name = groups["name"]
    qualifier = groups.get("qualifier")
    if not NAME_RE.fullmatch(name):
        raise _bad_name(text)
    if qualifier is not None:
        if not allow_qualifier:
            raise InvalidParameterValueError(
                f"Unsupported qualifier in function name '{text}': this operation takes an "
                "unqualified function name or ARN."
            )
        if not QUALIFIER_RE.fullmatch(qualifier):
            raise _bad_name(text)
    return FunctionRef(
        name=name, qualifier=qualifier, region=groups.get("region"), account=groups.get("account")
    )


# botocore's TaggableResource pattern, which AWS quotes when an ARN fails it.
TAGGABLE_PATTERN = (
    "arn:(aws[a-zA-Z-]*):lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\\d{1}:\\d{12}:"
    "(function:[a-zA-Z0-9-_]+(:(\\$LATEST|[a-zA-Z0-9-_]+))?|layer:([a-zA-Z0-9-_]+)|"
    "code-signing-config:csc-[a-z0-9]{17}|event-source-mapping:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-"
    "[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|capacity-provider:[a-zA-Z0-9-_]+)"
)
_TAGGABLE_FUNCTION_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:lambda:(?P<region>(eusc-)?[a-z]{2}((-gov)|(-iso[a-z]?))?-[a-z]+-\d):"
    r"(?P<account>\d{12}):function:(?P<name>[a-zA-Z0-9_-]+)"
    r"(:(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)
MAX_NAME = 64


def parse_tagged_function(text: str) -> FunctionRef:
    """The function a TagResource/UntagResource/ListTags ARN names, checked as AWS checks it:
    a full function ARN (anything else fails the TaggableResource pattern:
    ValidationException), unqualified — tags belong to the function, so a version or alias
    ARN, even ``:$LATEST``, is InvalidParameterValueException (both checked before the function
    is looked up; LocalStack's AWS-validated ``test_tag_exceptions`` / ``test_tag_versions``)."""
    match = _TAGGABLE_FUNCTION_RE.fullmatch(text)
    if match is None or len(match.group("name")) > MAX_NAME:
        raise ValidationError(
            f"1 validation error detected: Value '{text}' at 'resource' failed to satisfy "
            f"constraint: Member must satisfy regular expression pattern: {TAGGABLE_PATTERN}"
        )
    if match.group("qualifier") is not None:
        raise InvalidParameterValueError(
            "Tags on function aliases and versions are not supported. Please specify a "
            "function ARN."
        )
    return FunctionRef(
        name=match.group("name"), region=match.group("region"), account=match.group("account")
    )


def merge_qualifier(ref: FunctionRef, qualifier: str | None) -> str | None:
    """Combine a qualifier in the name with a ``Qualifier`` parameter, as AWS does."""
    if qualifier is not None and not QUALIFIER_RE.fullmatch(qualifier):
        raise ValidationError(
            f"1 validation error detected: Value '{qualifier}' at 'qualifier' failed to "
            "satisfy constraint: Member must satisfy regular expression pattern: "
            "(|[a-zA-Z0-9$_-]+)"
        )
    if ref.qualifier is not None and qualifier is not None and ref.qualifier != qualifier:
        raise InvalidParameterValueError(
            "The derived qualifier from the function name does not match the specified qualifier."
        )
    return ref.qualifier if ref.qualifier is not None else qualifier


def _bad_name(text: str) -> ValidationError:
    return ValidationError(
        f"1 validation error detected: Value '{text}' at 'functionName' failed to satisfy "
        "constraint: Member must satisfy regular expression pattern: "
        "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?"
        "(function:)?([a-zA-Z0-9-_]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?"
    )


@dataclass(frozen=True, kw_only=True)
class Arns:
    """Builds ARNs for one region and account."""

    region: str
    account: str

    def function(self, name: str, qualifier: str | None = None) -> str:
        base = f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        return f"{base}:{qualifier}" if qualifier else base

    def layer(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account}:layer:{name}"

    def layer_version(self, name: str, version: int) -> str:
        return f"{self.layer(name)}:{version}"

    def check_owner(self, ref: FunctionRef) -> None:
        """A full or partial ARN must name this region and account.

        As AWS answers (LocalStack's AWS-validated ``test_function_arns`` snapshot, 2025-11,
        and real ``Functions from 'us-east-1' are not reachable`` errors): another region is
        404 ResourceNotFoundException with this message; another account is 403
        AccessDeniedException — the caller may not touch that account's functions."""
        if ref.account is not None and ref.account != self.account:
            raise AccessDeniedError(
                f"This endpoint serves account {self.account}: the function ARN names account "
                f"{ref.account}."
            )
        if ref.region is not None and ref.region != self.region:
            raise ResourceNotFoundError(
                f"Functions from '{ref.region}' are not reachable in this region ('{self.region}')"
            )
