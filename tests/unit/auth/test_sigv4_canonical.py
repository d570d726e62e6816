"""The canonical request, piece by piece, against literals (AWS's SigV4 test suite and what
botocore computes)."""

from __future__ import annotations

from datetime import UTC, datetime

from nimbus.auth import signed_request, signing, sigv4


def test_aws_test_suite_get_vanilla_signature() -> None:
    # AWS's SigV4 test suite, get-vanilla: GET / at example.amazonaws.com, 20150830T123600Z.
    request = signed_request.HttpRequest(
        method="GET",
        raw_path=b"/",
        headers=[(b"host", b"example.amazonaws.com"), (b"x-amz-date", b"20150830T123600Z")],
    )
    signed = signed_request.parse(
        signed_request.HttpRequest(
            method="GET",
            raw_path=b"/",
            headers=[
                *request.headers,
                (
                    b"authorization",
                    b"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                    b"aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf"
                    b"1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
                ),
            ],
        )
    )
    assert signed.signed_at == datetime(2015, 8, 30, 12, 36, tzinfo=UTC).timestamp()
    sigv4.verify(signed, request, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")


def test_the_path_is_encoded_once_more_as_sent() -> None:
    # botocore sends a Lambda ARN as arn%3Aaws... and signs arn%253Aaws... (non-S3 services
    # encode the already-encoded path again).
    assert signing.canonical_uri(
        b"/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Af"
    ) == ("/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A1%253Af")
    assert (
        signing.canonical_uri(b"/functions/arn:aws:lambda/x y")
        == "/functions/arn%3Aaws%3Alambda/x%20y"
    )
    assert signing.canonical_uri(b"/caf\xc3\xa9") == "/caf%C3%A9"


def test_the_path_loses_dot_and_empty_segments_as_botocore_normalises_it() -> None:
    assert signing.canonical_uri(b"") == "/"
    assert signing.canonical_uri(b"//a//b/./c/../d/") == "/a/b/d/"
    assert signing.canonical_uri(b"/a/..") == "/"


def test_the_query_is_rfc3986_encoded_and_sorted_by_key_then_value() -> None:
    assert signing.canonical_query(b"b=2&a=z&a=y&c") == "a=y&a=z&b=2&c="
    assert signing.canonical_query(b"q=a+b%2Bc&k=%7e~*") == "k=~~%2A&q=a%20b%2Bc"
    assert signing.canonical_query(b"") == ""


def test_a_presigned_query_leaves_its_signature_out() -> None:
    query = b"X-Amz-Signature=abc&X-Amz-Date=1&a=b"
    assert signing.canonical_query(query, drop_signature=True) == "X-Amz-Date=1&a=b"
    assert "X-Amz-Signature=abc" in signing.canonical_query(query)


def test_signed_headers_are_trimmed_collapsed_and_repeated_values_joined() -> None:
    headers = [
        (b"host", b"h:1"),
        (b"x-multi", b"  a   b  "),
        (b"X-Multi", b"c"),
        (b"x-unsigned", b"ignored"),
    ]
    assert signing.canonical_headers(headers, ("host", "x-multi")) == "host:h:1\nx-multi:a b,c\n"


def test_signing_keys_are_derived_once_per_secret_date_region_and_service() -> None:
    first = signing.signing_key("secret-a", "20261202", "us-east-1", "lambda")
    assert signing.signing_key("secret-a", "20261202", "us-east-1", "lambda") is first
    assert signing.signing_key("secret-b", "20261202", "us-east-1", "lambda") != first
    assert signing.signing_key("secret-a", "20261203", "us-east-1", "lambda") != first
    assert signing.signing_key("secret-a", "20261202", "us-east-1", "sqs") != first


def test_only_requests_that_try_to_sign_carry_a_signature() -> None:
    plain = signed_request.HttpRequest(method="GET", raw_path=b"/", query_string=b"a=b")
    assert not signed_request.carries_signature(plain)
    assert signed_request.carries_signature(
        signed_request.HttpRequest(method="GET", raw_path=b"/", query_string=b"X-Amz-Signature=x")
    )
    assert signed_request.carries_signature(
        signed_request.HttpRequest(method="GET", raw_path=b"/", headers=[(b"authorization", b"x")])
    )
