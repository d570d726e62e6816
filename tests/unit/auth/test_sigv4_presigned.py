"""Presigned (query-string) SigV4: botocore's presigned URLs verify until X-Amz-Expires, and
Nimbus's own presigner makes URLs the verifier accepts."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from nimbus.auth import errors, signing
from nimbus.testing.signing import CapturedRequest, presign
from tests.unit.auth.sigv4_support import (
    AKID,
    ENDPOINT,
    ROLE,
    ROOT,
    SECRET,
    SIGNED_AT,
    TEMP_AKID,
    TEMP_SECRET,
    TOKEN,
    Harness,
)

CODE_URL = (
    f"{ENDPOINT}/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012"
    "%3Afunction%3Amy-fn/code?Qualifier=live"
)


def _get(url: str, *, method: str = "GET") -> CapturedRequest:
    return CapturedRequest(
        method=method, url=url, headers=(("Host", urlsplit(url).netloc),), body=b""
    )


def _presigned(expires: int = 60, **kwargs: str) -> CapturedRequest:
    return _get(
        presign(
            CODE_URL,
            access_key_id=kwargs.get("akid", AKID),
            secret_access_key=kwargs.get("secret", SECRET),
            region=kwargs.get("region", "us-east-1"),
            service="lambda",
            expires=expires,
            session_token=kwargs.get("token"),
            at=SIGNED_AT,
        )
    )


async def test_a_botocore_presigned_url_verifies() -> None:
    result = await Harness().check(_presigned())
    assert (result.principal, result.presigned, result.service) == (ROOT, True, "lambda")


async def test_a_presigned_url_with_a_session_token_is_the_role_session() -> None:
    request = _presigned(akid=TEMP_AKID, secret=TEMP_SECRET, token=TOKEN)
    assert "X-Amz-Security-Token=" in request.url
    assert (await Harness().check(request)).principal == ROLE


@pytest.mark.parametrize("offset", [-300, 0, 60])
async def test_a_presigned_url_is_valid_from_five_minutes_early_until_it_expires(
    offset: int,
) -> None:
    harness = Harness()
    harness.clock.advance(offset)
    assert (await harness.check(_presigned(expires=60))).principal == ROOT


async def test_a_presigned_url_past_x_amz_expires_has_expired() -> None:
    harness = Harness()
    harness.clock.advance(61)
    with pytest.raises(errors.SignatureExpiredError) as caught:
        await harness.check(_presigned(expires=60))
    assert caught.value.message == (
        "Signature expired: 20261202T101000Z is now earlier than 20261202T101001Z "
        "(20261202T101101Z - 60 sec.)"
    )


async def test_a_presigned_url_used_too_early_is_not_yet_current() -> None:
    harness = Harness()
    harness.clock.advance(-301)
    with pytest.raises(errors.SignatureNotYetCurrentError):
        await harness.check(_presigned())


async def test_a_presigned_url_lives_a_week_at_most() -> None:
    harness = Harness()
    harness.clock.advance(604_800)
    assert (await harness.check(_presigned(expires=604_800))).principal == ROOT


@pytest.mark.parametrize("expires", ["0", "604801", "-5", "soon"])
async def test_x_amz_expires_outside_one_second_to_a_week_is_an_incomplete_signature(
    expires: str,
) -> None:
    request = _presigned(expires=60)
    request = replace(
        request, url=request.url.replace("X-Amz-Expires=60", f"X-Amz-Expires={expires}")
    )
    with pytest.raises(errors.IncompleteSignatureError, match="X-Amz-Expires must be"):
        await Harness().check(request)


async def test_a_presigned_url_missing_its_signature_says_what_is_missing() -> None:
    request = _presigned()
    url, _, _ = request.url.partition("&X-Amz-Signature=")
    with pytest.raises(errors.IncompleteSignatureError) as caught:
        await Harness().check(replace(request, url=url))
    assert caught.value.message == (
        "AWS query-string parameters must include 'X-Amz-Signature'. "
        "Re-examine the query-string parameters."
    )


async def test_a_tampered_presigned_query_is_an_invalid_signature() -> None:
    request = _presigned()
    request = replace(request, url=request.url.replace("Qualifier=live", "Qualifier=dev"))
    with pytest.raises(errors.InvalidSignatureError):
        await Harness().check(request)


async def test_a_presigned_url_is_for_its_method_only() -> None:
    request = replace(_presigned(), method="DELETE")
    with pytest.raises(errors.InvalidSignatureError):
        await Harness().check(request)


async def test_a_presigned_url_signed_with_the_wrong_secret_is_refused() -> None:
    with pytest.raises(errors.InvalidSignatureError):
        await Harness().check(_presigned(secret="wrong"))


async def test_a_presigned_url_scoped_to_another_region_is_refused() -> None:
    with pytest.raises(errors.CredentialScopeError, match="not 'eu-west-1'"):
        await Harness().check(_presigned(region="eu-west-1"))


async def test_a_presigned_url_together_with_an_authorization_header_is_refused() -> None:
    request = _presigned()
    request = replace(
        request, headers=(*request.headers, ("Authorization", "AWS4-HMAC-SHA256 Credential=x"))
    )
    with pytest.raises(errors.IncompleteSignatureError, match="Only one auth mechanism"):
        await Harness().check(request)


async def test_nimbus_presigned_urls_verify_and_expire() -> None:
    query = signing.presign(
        method="GET",
        host="127.0.0.1:9001",
        raw_path=b"/2015-03-31/functions/my-fn/code",
        query=[("Qualifier", "live +1"), ("versionId", "a/b")],
        access_key_id=AKID,
        secret=SECRET,
        region="us-east-1",
        service="lambda",
        now=SIGNED_AT.timestamp(),
        expires_s=600,
    )
    assert query.startswith("Qualifier=live%20%2B1&versionId=a%2Fb&X-Amz-Algorithm=")
    request = _get(f"{ENDPOINT}/2015-03-31/functions/my-fn/code?{query}")
    harness = Harness()
    assert (await harness.check(request)).presigned is True
    harness.clock.advance(601)
    with pytest.raises(errors.SignatureExpiredError):
        await harness.check(request)


def test_nimbus_presigner_refuses_an_expiry_aws_would_refuse() -> None:
    with pytest.raises(ValueError, match="expires_s"):
        signing.presign(
            method="GET",
            host="h",
            raw_path=b"/",
            access_key_id=AKID,
            secret=SECRET,
            region="us-east-1",
            service="lambda",
            now=0.0,
            expires_s=604_801,
        )
