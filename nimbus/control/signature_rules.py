"""Pure rules of code signing: what a code signing config request may hold, and what a
deployment does with code given its signature and the function's config.

AWS ("Using code signing to verify code integrity with Lambda", Signature validation): the
integrity check (the code is what was signed) blocks a deployment whatever the policy —
InvalidCodeSignatureException; the mismatch check (signed by an allowed profile) and
unsigned code follow ``UntrustedArtifactOnDeployment``: ``Enforce`` blocks
(CodeVerificationFailedException), ``Warn`` (the default) deploys and records a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nimbus.control.code_signature import Broken, Signed, Unsigned, Verdict
from nimbus.errors import (
    CodeVerificationFailedError,
    InvalidCodeSignatureError,
    InvalidParameterValueError,
    ValidationError,
)
from nimbus.model.code_signing import CodeSigningConfig, UntrustedArtifactPolicy

MAX_PUBLISHERS = 20
MAX_DESCRIPTION = 256
# botocore lambda's Arn shape (SigningProfileVersionArns members).
ARN_PATTERN = (
    r"arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-"
    r"[a-z]+-\d{1})?:(\d{12})?:(.*)"
)
_ARN_RE = re.compile(ARN_PATTERN)
CSC_ARN_PATTERN = (
    r"arn:(aws[a-zA-Z-]*)?:lambda:(eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1}:"
    r"\d{12}:code-signing-config:csc-[a-z0-9]{17}"
)
_CSC_ARN_RE = re.compile(CSC_ARN_PATTERN)


@dataclass(frozen=True, kw_only=True)
class ConfigChanges:
    """What a Create/UpdateCodeSigningConfig request set; None means "not given"."""

    allowed_profiles: tuple[str, ...] | None = None
    policy: UntrustedArtifactPolicy | None = None
    description: str | None = None


def config_changes(body: Mapping[str, Any], *, creating: bool) -> ConfigChanges:
    """The request body's settings, checked as botocore's model constrains them."""
    publishers = body.get("AllowedPublishers")
    profiles: tuple[str, ...] | None = None
    if publishers is not None:
        profiles = allowed_profiles(publishers)
    elif creating:
        raise InvalidParameterValueError(
            'AllowedPublishers is required: {"SigningProfileVersionArns": ["arn:aws:signer:..."]}.'
        )
    policies = body.get("CodeSigningPolicies")
    policy: UntrustedArtifactPolicy | None = None
    if policies is not None:
        if not isinstance(policies, Mapping):
            raise InvalidParameterValueError(
                'CodeSigningPolicies must be an object: {"UntrustedArtifactOnDeployment": '
                '"Warn" | "Enforce"}.'
            )
        policy = untrusted_artifact_policy(policies.get("UntrustedArtifactOnDeployment"))
    description = body.get("Description")
    if description is not None:
        if not isinstance(description, str):
            raise InvalidParameterValueError("Description must be a string.")
        if len(description) > MAX_DESCRIPTION:
            raise ValidationError(
                f"1 validation error detected: Value '{description}' at 'description' failed "
                f"to satisfy constraint: Member must have length less than or equal to "
                f"{MAX_DESCRIPTION}"
            )
    return ConfigChanges(allowed_profiles=profiles, policy=policy, description=description)


def allowed_profiles(publishers: Any) -> tuple[str, ...]:
    arns = publishers.get("SigningProfileVersionArns") if isinstance(publishers, Mapping) else None
    if not isinstance(arns, list) or not all(isinstance(arn, str) for arn in arns):
        raise InvalidParameterValueError(
            "AllowedPublishers.SigningProfileVersionArns must be a list of signing profile "
            "version ARNs."
        )
    if not 1 <= len(arns) <= MAX_PUBLISHERS:
        raise ValidationError(
            f"1 validation error detected: Value '{arns}' at "
            "'allowedPublishers.signingProfileVersionArns' failed to satisfy constraint: "
            f"Member must have length between 1 and {MAX_PUBLISHERS}"
        )
    for arn in arns:
        if not _ARN_RE.fullmatch(arn):
            raise ValidationError(
                f"1 validation error detected: Value '{arn}' at "
                "'allowedPublishers.signingProfileVersionArns' failed to satisfy constraint: "
                f"Member must satisfy regular expression pattern: {ARN_PATTERN}"
            )
    # The same ARN twice is one publisher; keep the caller's order.
    return tuple(dict.fromkeys(arns))


def untrusted_artifact_policy(value: Any) -> UntrustedArtifactPolicy:
    if value == "Warn":
        return "Warn"
    if value == "Enforce":
        return "Enforce"
    raise ValidationError(
        f"1 validation error detected: Value '{value}' at "
        "'codeSigningPolicies.untrustedArtifactOnDeployment' failed to satisfy constraint: "
        "Member must satisfy enum value set: [Warn, Enforce]"
    )


def config_id_of(arn: Any) -> str:
    """The ``csc-...`` id of a code signing config ARN, checked against botocore's pattern."""
    if not isinstance(arn, str) or not _CSC_ARN_RE.fullmatch(arn):
        raise ValidationError(
            f"1 validation error detected: Value '{arn}' at 'codeSigningConfigArn' failed to "
            f"satisfy constraint: Member must satisfy regular expression pattern: "
            f"{CSC_ARN_PATTERN}"
        )
    return arn.rsplit(":", 1)[1]


# --- the deployment decision ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Deploy:
    """Deploy the code; ``signing_profile_version_arn`` is the allowed profile that signed
    it, or None (unsigned or untrusted code deployed under Warn)."""

    signing_profile_version_arn: str | None = None
    warning: str | None = None  # set when Warn let an untrusted artifact through


def decide(verdict: Verdict, config: CodeSigningConfig, *, target: str) -> Deploy:
    """What deploying code with ``verdict`` to ``target`` (a function ARN) under ``config``
    does; raises the AWS error when the deployment is blocked."""
    match verdict:
        case Broken(reason=reason):
            raise InvalidCodeSignatureError(
                "Lambda cannot deploy the function: the code signature failed the integrity "
                f"check ({reason}). Sign the code again, after its last change, with "
                "`nimbus sign zip`."
            )
        case Signed(profile_version_arn=arn) if arn in config.allowed_profiles:
            return Deploy(signing_profile_version_arn=arn)
        case Signed(profile_version_arn=arn):
            why = (
                f"The code is signed by {arn}, which code signing configuration "
                f"{config.arn} does not allow."
            )
        case Unsigned():
            why = (
                "The code is not signed: sign it with `nimbus sign zip` and a profile that "
                f"code signing configuration {config.arn} allows."
            )
    if config.policy == "Enforce":
        # AWS's message (seen through CloudFormation, aws-cdk issue #29474), then why.
        raise CodeVerificationFailedError(
            "Lambda cannot deploy the function. The function or layer might be signed using a "
            "signature that the client is not configured to accept. Check the provided "
            f"signature for {target}. {why}"
        )
    return Deploy(warning=why)
