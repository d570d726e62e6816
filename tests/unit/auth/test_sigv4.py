"""SigV4 header signatures: real boto3 requests of every protocol Nimbus serves verify, and
each way a request can be wrong gets AWS's exact error."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import pytest

from nimbus.auth import errors
from nimbus.auth.principal import root
from nimbus.testing.signing import CapturedRequest, sign_headers
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
    boto,
    header,
    with_header,
)

ARN = "arn:aws:lambda:us-east-1:123456789012:function:my-fn"

CALLS: dict[str, tuple[str, Callable[[Any], object]]] = {
    "lambda invoke by ARN with qualifier": (
        "lambda",
        lambda c: c.invoke(FunctionName=ARN, Qualifier="live", Payload=b'{"k": "v \xc3\xa9"}'),
    ),
    "lambda invoke by qualified ARN": (
        "lambda",
        lambda c: c.invoke(FunctionName=f"{ARN}:7", Payload=b"x" * 1024),
    ),
    "lambda list with query": (
        "lambda",
        lambda c: c.list_functions(MaxItems=5, Marker="a b+c/d=e&f~g"),
    ),
    "lambda get alias": (
        "lambda",
        lambda c: c.get_alias(FunctionName="my-fn", Name="prod"),
    ),
    "lambda event source mappings query": (
        "lambda",
        lambda c: c.list_event_source_mappings(
            EventSourceArn="arn:aws:sqs:us-east-1:123456789012:q", FunctionName=ARN
        ),
    ),
    "sqs json": (
        "sqs",
        lambda c: c.send_message(
            QueueUrl=f"{ENDPOINT}/123456789012/q", MessageBody="héllo + wörld"
        ),
    ),
    "sns form": (
        "sns",
        lambda c: c.publish(TopicArn="arn:aws:sns:us-east-1:123456789012:t", Message="a+b c&d=e ✓"),
    ),
    "iam form": ("iam", lambda c: c.create_user(UserName="alice", Path="/team/")),
    "sts form": ("sts", lambda c: c.get_caller_identity()),
}


def _hand_signed(
    method: str,
    path: str,
    headers: Sequence[tuple[str, str]],
    body: bytes = b"",
    *,
    sent: Sequence[tuple[str, str]] | None = None,
    unsigned: bool = False,
) -> tuple[CapturedRequest, dict[str, str]]:
    """A Lambda request ``method path`` that botocore signs over ``headers`` and ``body`` with
    the root key at SIGNED_AT, sending ``sent`` (``headers`` unless given) and the signature's
    headers; and those signature headers."""
    url = f"{ENDPOINT}{path}"
    signed = sign_headers(
        method,
        url,
        headers,
        body,
        access_key_id=AKID,
        secret_access_key=SECRET,
        region="us-east-1",
        service="lambda",
        at=SIGNED_AT,
        unsigned_payload=unsigned,
    )
    request = replace(
        boto("lambda", lambda c: c.list_functions()),
        method=method,
        url=url,
        headers=(*(headers if sent is None else sent), *signed.items()),
        body=body,
    )
    return request, signed


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_boto3_requests_of_every_protocol_verify(name: str) -> None:
    service, call = CALLS[name]
    result = await Harness().check(boto(service, call))
    assert result.principal == ROOT
    assert result.service == service
    assert result.presigned is False
    assert result.access_key_id == AKID


async def test_a_request_without_any_signature_is_missing_its_token() -> None:
    request = with_header(boto("lambda", lambda c: c.list_functions()), "Authorization", None)
    with pytest.raises(errors.MissingAuthenticationTokenError) as caught:
        await Harness().check(request)
    assert caught.value.message == "Missing Authentication Token"
    assert (caught.value.error_type, caught.value.query_code, caught.value.status) == (
        "MissingAuthenticationTokenException",
        "MissingAuthenticationToken",
        403,
    )


@pytest.mark.parametrize(
    ("authorization", "says"),
    [
        ("Bearer abc.def", "Authorization header requires 'Credential' parameter."),
        ("Basic dXNlcjpodW50ZXIy", "Authorization header requires 'Signature' parameter."),
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/lambda/aws4_request",
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/lambda, "
            "SignedHeaders=host;x-amz-date, Signature=abc",
            "Credential must have exactly 5 slash-delimited elements",
        ),
        (
            "AWS4-HMAC-SHA256 Credential=AKID/20261202/us-east-1/lambda/aws4_request, "
            "SignedHeaders=x-amz-date, Signature=abc",
            "'Host' or ':authority' must be a 'SignedHeader'",
        ),
        (
            "AWS4-ECDSA-P256-SHA256 Credential=AKID/20261202/lambda/aws4_request, "
            "SignedHeaders=host, Signature=abc",
            "Unsupported AWS 'algorithm'",
        ),
    ],
)
async def test_a_malformed_authorization_header_is_an_incomplete_signature(
    authorization: str, says: str
) -> None:
    request = with_header(
        boto("lambda", lambda c: c.list_functions()), "Authorization", authorization
    )
    with pytest.raises(errors.IncompleteSignatureError) as caught:
        await Harness().check(request)
    assert says in caught.value.message
    assert "hunter2" not in caught.value.message and "dXNlcjpodW50ZXIy" not in caught.value.message
    assert caught.value.query_code == "IncompleteSignature"


async def test_a_request_without_a_date_is_an_incomplete_signature() -> None:
    request = with_header(boto("lambda", lambda c: c.list_functions()), "X-Amz-Date", None)
    with pytest.raises(errors.IncompleteSignatureError, match="'X-Amz-Date' or a 'Date' header"):
        await Harness().check(request)


async def test_a_date_not_in_iso_basic_format_is_an_incomplete_signature() -> None:
    request = boto("lambda", lambda c: c.list_functions())
    request = with_header(request, "X-Amz-Date", "2026-12-02T10:10:00Z")
    with pytest.raises(errors.IncompleteSignatureError, match="ISO 8601 basic format"):
        await Harness().check(request)


async def test_the_http_date_header_stands_in_for_x_amz_date() -> None:
    # botocore signs with Date when the request has one; AWS reads Date when X-Amz-Date is
    # absent.
    base = [("Host", "127.0.0.1:9001"), ("Date", "Wed, 02 Dec 2026 10:10:00 GMT")]
    request, signed = _hand_signed("GET", "/2015-03-31/functions/", base, sent=base[:1])
    assert "X-Amz-Date" not in signed
    assert (await Harness().check(request)).principal == ROOT


async def test_an_unknown_key_is_an_unrecognized_client() -> None:
    harness = Harness()
    request = boto("sqs", lambda c: c.list_queues(), akid="AKIAUNKNOWN000000000")
    with pytest.raises(errors.UnrecognizedClientError) as caught:
        await harness.check(request)
    assert caught.value.message == "The security token included in the request is invalid."
    assert (caught.value.error_type, caught.value.query_code) == (
        "UnrecognizedClientException",
        "InvalidClientTokenId",
    )
    assert harness.keys.lookups == ["AKIAUNKNOWN000000000"]


async def test_the_wrong_secret_is_an_invalid_signature() -> None:
    request = boto("lambda", lambda c: c.list_functions(), secret="not-the-secret")
    with pytest.raises(errors.InvalidSignatureError) as caught:
        await Harness().check(request)
    assert type(caught.value) is errors.InvalidSignatureError
    assert caught.value.message.startswith(
        "The request signature we calculated does not match the signature you provided."
    )
    assert (caught.value.error_type, caught.value.query_code) == (
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    )
    assert SECRET not in caught.value.message


async def test_a_tampered_body_is_an_invalid_signature() -> None:
    request = boto("lambda", lambda c: c.invoke(FunctionName="f", Payload=b'{"amount": 1}'))
    request = replace(request, body=b'{"amount": 9}')
    with pytest.raises(errors.InvalidSignatureError) as caught:
        await Harness().check(request)
    assert type(caught.value) is errors.InvalidSignatureError


async def test_a_tampered_signed_header_is_an_invalid_signature() -> None:
    request = boto("sqs", lambda c: c.list_queues())
    assert "x-amz-target" in header(request, "Authorization")
    request = with_header(request, "X-Amz-Target", "AmazonSQS.DeleteQueue")
    with pytest.raises(errors.InvalidSignatureError):
        await Harness().check(request)


async def test_a_tampered_host_is_an_invalid_signature() -> None:
    request = with_header(boto("lambda", lambda c: c.list_functions()), "Host", "evil:9001")
    with pytest.raises(errors.InvalidSignatureError):
        await Harness().check(request)


@pytest.mark.parametrize(
    ("old", "new"),
    [(b"function%3Amy-fn", b"function%3Aother"), (b"/invocations", b"/invocations/")],
)
async def test_a_tampered_path_is_an_invalid_signature(old: bytes, new: bytes) -> None:
    request = boto("lambda", lambda c: c.invoke(FunctionName=ARN))
    request = replace(request, url=request.url.replace(old.decode(), new.decode()))
    with pytest.raises(errors.InvalidSignatureError):
        await Harness().check(request)


async def test_a_tampered_query_is_an_invalid_signature() -> None:
    request = boto("lambda", lambda c: c.list_functions(MaxItems=5))
    request = replace(request, url=request.url.replace("MaxItems=5", "MaxItems=50"))
    with pytest.raises(errors.InvalidSignatureError):
        await Harness().check(request)


async def test_headers_added_after_signing_do_not_matter() -> None:
    # Proxies add headers (X-Forwarded-For, Via); only SignedHeaders are covered.
    request = boto("lambda", lambda c: c.list_functions())
    request = with_header(request, "X-Forwarded-For", "10.0.0.1")
    assert (await Harness().check(request)).principal == ROOT


async def test_repeated_and_spaced_signed_headers_canonicalise_as_botocore_does() -> None:
    base = [
        ("Host", "127.0.0.1:9001"),
        ("X-Custom", "  a    b  "),
        ("X-Custom", "c"),
        ("Content-Type", "application/json"),
    ]
    request, signed = _hand_signed("GET", "/2015-03-31/functions/", base)
    assert "x-custom" in signed["Authorization"]
    assert (await Harness().check(request)).principal == ROOT
    swapped = replace(request, headers=(base[0], base[2], base[1], base[3], *signed.items()))
    with pytest.raises(errors.InvalidSignatureError):
        await Harness().check(swapped)  # the order of repeated values is signed


# --- Time ----------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-300, 0, 300])
async def test_five_minutes_of_clock_skew_either_way_is_accepted(offset: int) -> None:
    harness = Harness()
    harness.clock.advance(offset)
    assert (await harness.check(boto("lambda", lambda c: c.list_functions()))).principal == ROOT


async def test_a_signature_older_than_five_minutes_has_expired() -> None:
    harness = Harness()
    harness.clock.advance(301)
    with pytest.raises(errors.SignatureExpiredError) as caught:
        await harness.check(boto("lambda", lambda c: c.list_functions()))
    assert caught.value.message == (
        "Signature expired: 20261202T101000Z is now earlier than 20261202T101001Z "
        "(20261202T101501Z - 5 min.)"
    )
    assert caught.value.error_type == "InvalidSignatureException"
    assert harness.keys.lookups == []  # refused before any key lookup


async def test_a_signature_more_than_five_minutes_ahead_is_not_yet_current() -> None:
    harness = Harness()
    harness.clock.advance(-301)
    with pytest.raises(errors.SignatureNotYetCurrentError) as caught:
        await harness.check(boto("lambda", lambda c: c.list_functions()))
    assert caught.value.message == (
        "Signature not yet current: 20261202T101000Z is still later than 20261202T100959Z "
        "(20261202T100459Z + 5 min.)"
    )
    assert caught.value.query_code == "SignatureDoesNotMatch"


# --- Credential scope ----------------------------------------------------------------------


async def test_a_credential_scoped_to_another_region_is_refused() -> None:
    harness = Harness()
    with pytest.raises(errors.CredentialScopeError) as caught:
        await harness.check(boto("lambda", lambda c: c.list_functions(), region="eu-west-1"))
    assert (
        caught.value.message == "Credential should be scoped to a valid region, not 'eu-west-1'. "
    )
    assert caught.value.query_code == "SignatureDoesNotMatch"
    assert harness.keys.lookups == []


async def test_iam_and_sts_may_be_scoped_to_us_east_1_whatever_the_server_region() -> None:
    harness = Harness(region="eu-west-1")
    iam = boto("iam", lambda c: c.list_users(), region="us-east-1")
    assert (await harness.check(iam)).service == "iam"
    with pytest.raises(errors.CredentialScopeError):
        await harness.check(boto("lambda", lambda c: c.list_functions(), region="us-east-1"))


async def test_a_scope_date_other_than_the_request_date_is_refused() -> None:
    request = boto("lambda", lambda c: c.list_functions())
    request = with_header(request, "X-Amz-Date", "20261203T101000Z")
    with pytest.raises(errors.CredentialScopeError) as caught:
        await Harness().check(request)
    assert caught.value.message == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        "HTTP: '20261202' != '20261203', from '20261203T101000Z'."
    )


async def test_a_service_nimbus_does_not_serve_is_refused() -> None:
    request = boto("lambda", lambda c: c.list_functions())
    scoped = header(request, "Authorization").replace("/lambda/", "/s3/")
    with pytest.raises(errors.CredentialScopeError, match="correct service: one of 'iam', "):
        await Harness().check(with_header(request, "Authorization", scoped))


async def test_the_gate_can_require_the_service_of_the_route() -> None:
    request = boto("sqs", lambda c: c.list_queues())
    with pytest.raises(errors.CredentialScopeError) as caught:
        await Harness().check(request, service="lambda")
    assert caught.value.message == "Credential should be scoped to correct service: 'lambda'. "
    assert (await Harness().check(request, service="sqs")).service == "sqs"


async def test_a_bad_scope_terminator_is_refused() -> None:
    request = boto("lambda", lambda c: c.list_functions())
    scoped = header(request, "Authorization").replace("/aws4_request", "/aws5_request")
    with pytest.raises(errors.CredentialScopeError, match="valid terminator: 'aws4_request'"):
        await Harness().check(with_header(request, "Authorization", scoped))


# --- Payload hash ----------------------------------------------------------------------------


def _signed_with(content_sha256: str | None, body: bytes, *, unsigned: bool = False) -> Any:
    base = [("Host", "127.0.0.1:9001")]
    if content_sha256 is not None:
        base.append(("X-Amz-Content-SHA256", content_sha256))
    request, _ = _hand_signed(
        "POST",
        "/2015-03-31/functions/f/invocations",
        base,
        body,
        sent=[(k, v) for k, v in base if k != "X-Amz-Content-SHA256"],
        unsigned=unsigned,
    )
    return request


async def test_unsigned_payload_leaves_the_body_out_of_the_signature() -> None:
    request = _signed_with(None, b'{"a": 1}', unsigned=True)
    assert header(request, "X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD"
    tampered = replace(request, body=b'{"a": 2}')
    assert (await Harness().check(tampered)).principal == ROOT


async def test_a_content_sha256_matching_the_body_verifies() -> None:
    body = b'{"a": 1}'
    request = _signed_with(hashlib.sha256(body).hexdigest(), body)
    assert (await Harness().check(request)).principal == ROOT


async def test_a_signed_content_sha256_that_is_not_the_body_is_refused() -> None:
    request = _signed_with(hashlib.sha256(b"another body").hexdigest(), b'{"a": 1}')
    with pytest.raises(errors.PayloadHashMismatchError) as caught:
        await Harness().check(request)
    assert "x-amz-content-sha256" in caught.value.message
    assert caught.value.error_type == "InvalidSignatureException"


async def test_a_body_hash_computed_while_receiving_stands_for_the_body() -> None:
    harness = Harness()
    body = json.dumps({"k": "v" * 1000}).encode()
    request = boto("lambda", lambda c: c.invoke(FunctionName="f", Payload=body))
    result = await harness.authenticator.authenticate(
        request.method,
        request.raw_path,
        request.query_string,
        request.asgi_headers(),
        body_sha256=hashlib.sha256(body).hexdigest(),
    )
    assert result.principal == ROOT
    with pytest.raises(errors.InvalidSignatureError):
        await harness.authenticator.authenticate(
            request.method,
            request.raw_path,
            request.query_string,
            request.asgi_headers(),
            body_sha256=hashlib.sha256(b"other").hexdigest(),
        )


# --- Session tokens --------------------------------------------------------------------------


async def test_a_temporary_key_with_its_token_is_its_role_session() -> None:
    request = boto(
        "lambda", lambda c: c.list_functions(), akid=TEMP_AKID, secret=TEMP_SECRET, token=TOKEN
    )
    assert header(request, "X-Amz-Security-Token") == TOKEN
    assert (await Harness().check(request)).principal == ROLE


@pytest.mark.parametrize("token", [None, "another-token"])
async def test_a_temporary_key_without_its_own_token_is_unrecognized(token: str | None) -> None:
    request = boto(
        "lambda", lambda c: c.list_functions(), akid=TEMP_AKID, secret=TEMP_SECRET, token=token
    )
    with pytest.raises(errors.UnrecognizedClientError):
        await Harness().check(request)


async def test_a_permanent_key_sent_with_a_token_is_unrecognized() -> None:
    request = boto("lambda", lambda c: c.list_functions(), token=TOKEN)
    with pytest.raises(errors.UnrecognizedClientError):
        await Harness().check(request)


async def test_an_expired_temporary_key_is_an_expired_token() -> None:
    harness = Harness()
    harness.clock.advance(3600)
    request = boto(
        "lambda",
        lambda c: c.list_functions(),
        akid=TEMP_AKID,
        secret=TEMP_SECRET,
        token=TOKEN,
        at=SIGNED_AT.replace(hour=11),
    )
    with pytest.raises(errors.ExpiredTokenError) as caught:
        await harness.check(request)
    assert caught.value.message == "The security token included in the request is expired"
    assert (caught.value.error_type, caught.value.query_code, caught.value.status) == (
        "ExpiredTokenException",
        "ExpiredToken",
        403,
    )
    assert TOKEN not in caught.value.message


async def test_a_second_key_of_another_principal_is_told_apart() -> None:
    harness = Harness()
    other = root("210987654321", "AKIAOTHER00000000000")
    harness.keys.add("AKIAOTHER00000000000", "other-secret", other)
    request = boto(
        "sts", lambda c: c.get_caller_identity(), akid="AKIAOTHER00000000000", secret="other-secret"
    )
    assert (await harness.check(request)).principal == other
    forged = boto("sts", lambda c: c.get_caller_identity(), akid="AKIAOTHER00000000000")
    with pytest.raises(errors.InvalidSignatureError):
        await harness.check(forged)  # another key's secret does not sign for this key
