"""The test signer (``nimbus.testing.signing.SigV4Auth``) makes httpx requests the
Authenticator accepts, byte for byte as they go on the wire."""

from __future__ import annotations

import httpx

from nimbus.auth import errors
from nimbus.auth.authenticator import Authenticated
from nimbus.testing.signing import SigV4Auth
from tests.unit.auth.sigv4_support import AKID, ROOT, SECRET, SIGNED_AT, Harness


async def _round_trip(auth: httpx.Auth, harness: Harness, **request: object) -> list[object]:
    seen: list[object] = []

    async def handler(sent: httpx.Request) -> httpx.Response:
        raw_path, _, query = sent.url.raw_path.partition(b"?")
        try:
            result: Authenticated = await harness.authenticator.authenticate(
                sent.method, raw_path, query, list(sent.headers.raw), sent.content
            )
            seen.append(result.principal)
        except errors.AuthenticationError as exc:
            seen.append(exc)
        return httpx.Response(200)

    transport = httpx.MockTransport(handler)
    async with httpx.AsyncClient(transport=transport, auth=auth) as client:
        await client.request(**request)  # type: ignore[arg-type]
    return seen


async def test_signed_httpx_requests_verify() -> None:
    auth = SigV4Auth(AKID, SECRET, region="us-east-1", service="lambda", at=SIGNED_AT)
    seen = await _round_trip(
        auth,
        Harness(),
        method="POST",
        url="http://127.0.0.1:9001/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1"
        "%3A123456789012%3Afunction%3Af/invocations",
        params={"Qualifier": "a b+c"},
        content=b'{"x": 1}',
        headers={"X-Amz-Invocation-Type": "Event"},
    )
    assert seen == [ROOT]


async def test_httpx_requests_signed_with_another_secret_are_refused() -> None:
    auth = SigV4Auth(AKID, "wrong", region="us-east-1", service="sqs", at=SIGNED_AT)
    seen = await _round_trip(
        auth, Harness(), method="POST", url="http://127.0.0.1:9001/", json={"QueueName": "q"}
    )
    assert [type(e) for e in seen] == [errors.InvalidSignatureError]


async def test_a_raw_target_is_signed_as_sent_undecodable_query_and_dot_segments_included() -> None:
    # The API fuzz sends hostile targets as generated (httpx's "target" extension): the
    # signature must cover those bytes, not the URL httpx would have normalised.
    target = b"/2015-03-31/functions/%2e%2e/../x%C0%AF/invocations?Q=%ZZ&Q=a+b&E=%ED%A0%80&F"
    auth = SigV4Auth(AKID, SECRET, region="us-east-1", service="lambda", at=SIGNED_AT)
    seen: list[object] = []

    async def handler(sent: httpx.Request) -> httpx.Response:
        raw_path, _, query = sent.extensions["target"].partition(b"?")
        try:
            result = await Harness().authenticator.authenticate(
                sent.method, raw_path, query, list(sent.headers.raw), sent.content
            )
            seen.append(result.principal)
        except errors.AuthenticationError as exc:
            seen.append(exc)
        return httpx.Response(200)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as client:
        await client.post(
            "http://127.0.0.1:9001/x",
            content=b"{}",
            # Bytes that happen to be valid UTF-8 go as sent, read as Latin-1 on both sides.
            headers={b"X-Amz-Invocation-Type": "Ò·5".encode("latin-1")},
            extensions={"target": target},
        )
    assert seen == [ROOT]
