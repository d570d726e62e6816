"""The deployment decision (AWS: integrity failures always block; unsigned or untrusted code
blocks under Enforce, deploys with a warning under Warn) and the request checks of a code
signing config."""

from __future__ import annotations

from typing import Any

import pytest

from nimbus.control import signature_rules as rules
from nimbus.control.code_signature import Broken, Signed, Unsigned
from nimbus.errors import (
    CodeVerificationFailedError,
    InvalidCodeSignatureError,
    InvalidParameterValueError,
    ValidationError,
)
from nimbus.model.code_signing import CodeSigningConfig

TRUSTED = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/prod/" + "A" * 32
STRANGER = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/dev/" + "B" * 32
CSC = "arn:aws:lambda:us-east-1:000000000000:code-signing-config:csc-0123456789abcdef0"
FN = "arn:aws:lambda:us-east-1:000000000000:function:fn"


def config(policy: Any) -> CodeSigningConfig:
    return CodeSigningConfig(
        config_id="csc-0123456789abcdef0", arn=CSC, allowed_profiles=(TRUSTED,), policy=policy
    )


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
def test_code_signed_by_an_allowed_profile_deploys_with_its_profile(policy: str) -> None:
    decision = rules.decide(Signed(profile_version_arn=TRUSTED), config(policy), target=FN)
    assert decision == rules.Deploy(signing_profile_version_arn=TRUSTED)


@pytest.mark.parametrize("policy", ["Warn", "Enforce"])
def test_a_broken_signature_blocks_under_either_policy(policy: str) -> None:
    with pytest.raises(InvalidCodeSignatureError) as exc:
        rules.decide(Broken(reason="the code does not match"), config(policy), target=FN)
    assert exc.value.status == 400
    assert "integrity check (the code does not match)" in exc.value.message


def test_unsigned_code_is_refused_under_enforce_with_awss_message() -> None:
    with pytest.raises(CodeVerificationFailedError) as exc:
        rules.decide(Unsigned(), config("Enforce"), target=FN)
    assert exc.value.error_type == "CodeVerificationFailedException"
    assert exc.value.status == 400
    assert exc.value.message.startswith(
        "Lambda cannot deploy the function. The function or layer might be signed using a "
        f"signature that the client is not configured to accept. Check the provided signature "
        f"for {FN}. The code is not signed"
    )


def test_an_untrusted_publisher_is_refused_under_enforce_naming_it() -> None:
    with pytest.raises(CodeVerificationFailedError) as exc:
        rules.decide(Signed(profile_version_arn=STRANGER), config("Enforce"), target=FN)
    assert f"signed by {STRANGER}, which code signing configuration {CSC} does not allow" in (
        exc.value.message
    )


def test_warn_deploys_unsigned_and_untrusted_code_with_a_warning() -> None:
    unsigned = rules.decide(Unsigned(), config("Warn"), target=FN)
    assert unsigned.signing_profile_version_arn is None
    assert unsigned.warning is not None and "not signed" in unsigned.warning
    untrusted = rules.decide(Signed(profile_version_arn=STRANGER), config("Warn"), target=FN)
    assert untrusted.signing_profile_version_arn is None
    assert untrusted.warning is not None and STRANGER in untrusted.warning


def test_a_create_request_is_read_with_awss_defaults() -> None:
    changes = rules.config_changes(
        {"AllowedPublishers": {"SigningProfileVersionArns": [TRUSTED, TRUSTED, STRANGER]}},
        creating=True,
    )
    assert changes == rules.ConfigChanges(allowed_profiles=(TRUSTED, STRANGER))
    full = rules.config_changes(
        {
            "AllowedPublishers": {"SigningProfileVersionArns": [TRUSTED]},
            "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "Enforce"},
            "Description": "prod only",
        },
        creating=True,
    )
    assert (full.policy, full.description) == ("Enforce", "prod only")
    assert rules.config_changes({}, creating=False) == rules.ConfigChanges()


@pytest.mark.parametrize(
    ("body", "error", "says"),
    [
        ({}, InvalidParameterValueError, "AllowedPublishers is required"),
        (
            {"AllowedPublishers": {"SigningProfileVersionArns": []}},
            ValidationError,
            "Member must have length between 1 and 20",
        ),
        (
            {
                "AllowedPublishers": {
                    "SigningProfileVersionArns": [f"{TRUSTED}{i}" for i in range(21)]
                }
            },
            ValidationError,
            "Member must have length between 1 and 20",
        ),
        (
            {"AllowedPublishers": {"SigningProfileVersionArns": ["prod"]}},
            ValidationError,
            "Member must satisfy regular expression pattern",
        ),
        ({"AllowedPublishers": ["x"]}, InvalidParameterValueError, "must be a list"),
        (
            {
                "AllowedPublishers": {"SigningProfileVersionArns": [TRUSTED]},
                "CodeSigningPolicies": {"UntrustedArtifactOnDeployment": "enforce"},
            },
            ValidationError,
            "Member must satisfy enum value set: [Warn, Enforce]",
        ),
        (
            {
                "AllowedPublishers": {"SigningProfileVersionArns": [TRUSTED]},
                "Description": "x" * 257,
            },
            ValidationError,
            "less than or equal to 256",
        ),
    ],
)
def test_bad_requests_get_awss_errors(
    body: dict[str, Any], error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=says.replace("[", r"\[").replace("]", r"\]")):
        rules.config_changes(body, creating=True)


def test_config_arns_are_checked_against_botocores_pattern() -> None:
    assert rules.config_id_of(CSC) == "csc-0123456789abcdef0"
    for bad in ["csc-0123456789abcdef0", CSC + "0", CSC.replace("lambda", "signer"), None]:
        with pytest.raises(ValidationError, match="codeSigningConfigArn"):
            rules.config_id_of(bad)
