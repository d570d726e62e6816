"""SigV4 signing for tests, done by botocore itself (the oracle Nimbus verifies against):
an ``httpx.Auth`` for raw-HTTP tests, header signing for hand-built requests, and presigned
URLs. ``at`` pins the signing time so tests can use a manual clock."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from unittest import mock
from urllib.parse import parse_qsl, quote, quote_from_bytes, unquote_to_bytes, urlsplit, urlunsplit

import httpx
from botocore.auth import SigV4Auth as _BotoSigV4Auth
from botocore.auth import SigV4QueryAuth as _BotoSigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# What botocore's signer sets on a request (the token and content hash only when used; Date
# rewritten, instead of X-Amz-Date, when the request has one).
_AUTH_HEADERS = (
    "Authorization",
    "X-Amz-Date",
    "Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-SHA256",
)


def _frozen_at(at: datetime | None) -> AbstractContextManager[object]:
    if at is None:
        return nullcontext()
    return mock.patch("botocore.auth.get_current_datetime", return_value=at)


def rfc3986_url(url: str) -> str:
    """``url`` with its query re-encoded as SigV4 canonicalises it (``%20``, not ``+``), so
    what is signed is byte-for-byte what is sent."""
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def raw_target_url(origin: str, target: bytes) -> str:
    """The URL to sign for a request sent with this raw request target (httpx's ``target``
    extension: path and query on the wire exactly as given, undecodable escapes included).
    botocore signs a URL's query as it finds it (its serialisers have already encoded it),
    so the query is re-encoded here from its bytes as SigV4 canonicalises it (``+`` is a
    space, RFC 3986 unreserved characters only); the path goes as sent (botocore itself
    removes dot segments and re-encodes it, as the verifier does)."""
    path, _, query = target.partition(b"?")
    pairs = []
    for part in query.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            pairs.append(
                f"{quote_from_bytes(unquote_to_bytes(key.replace(b'+', b' ')), '-_.~')}="
                f"{quote_from_bytes(unquote_to_bytes(value.replace(b'+', b' ')), '-_.~')}"
            )
    url = origin + path.decode()
    return f"{url}?{'&'.join(pairs)}" if pairs else url


def sign_headers(
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    session_token: str | None = None,
    at: datetime | None = None,
    unsigned_payload: bool = False,
) -> dict[str, str]:
    """The headers botocore sets to sign this request (Authorization, X-Amz-Date or Date, the
    token / content hash when used), to send instead of any of the same name in ``headers``.
    ``headers`` must include Host as it will be sent."""
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # HTTPHeaders appends: repeated headers stay repeated
    if unsigned_payload:
        request.context["payload_signing_enabled"] = False
    signer = _BotoSigV4Auth(
        Credentials(access_key_id, secret_access_key, session_token), service, region
    )
    with _frozen_at(at):
        signer.add_auth(request)
    return {name: request.headers[name] for name in _AUTH_HEADERS if name in request.headers}


def presign(
    url: str,
    *,
    access_key_id: str,
    secret_access_key: str,
    region: str,
    service: str,
    method: str = "GET",
    expires: int = 3600,
    session_token: str | None = None,
    at: datetime | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> str:
    """``url`` presigned by botocore's ``SigV4QueryAuth`` (X-Amz-* query parameters)."""
    request = AWSRequest(method=method, url=url)
    for name, value in headers:
        request.headers[name] = value
    signer = _BotoSigV4QueryAuth(
        Credentials(access_key_id, secret_access_key, session_token),
        service,
        region,
        expires=expires,
    )
    with _frozen_at(at):
        signer.add_auth(request)
    return str(request.url)


class SigV4Auth(httpx.Auth):
    """Signs every httpx request as boto3 would: ``httpx.Client(auth=SigV4Auth(...))``. A
    request sent with a raw target (``extensions={"target": b"/path?query"}``) is signed for
    that target, what goes on the wire, not for its URL."""

    requires_request_body = True

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        *,
        region: str,
        service: str,
        session_token: str | None = None,
        at: datetime | None = None,
    ) -> None:
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._region = region
        self._service = service
        self._token = session_token
        self._at = at

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        target = request.extensions.get("target")
        if isinstance(target, bytes):
            origin = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"
            url = raw_target_url(origin, target)
        else:
            url = rfc3986_url(str(request.url))
            request.url = httpx.URL(url)
        signed = sign_headers(
            request.method,
            url,
            # The bytes as sent, read as Latin-1 as HTTP (and the verifier) reads them: httpx's
            # own decoding would take bytes that happen to be valid UTF-8 as UTF-8.
            [
                (k.decode("latin-1"), v.decode("latin-1"))
                for k, v in request.headers.raw
                if k.lower() != b"connection"
            ],
            request.content,
            access_key_id=self._access_key_id,
            secret_access_key=self._secret,
            region=self._region,
            service=self._service,
            session_token=self._token,
            at=self._at,
        )
        for name, value in signed.items():
            request.headers[name] = value
        yield request


@dataclass(frozen=True, kw_only=True)
class CapturedRequest:
    """A request exactly as a boto3 client would put it on the wire (Host included)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def raw_path(self) -> bytes:
        return urlsplit(self.url).path.encode()

    @property
    def query_string(self) -> bytes:
        return urlsplit(self.url).query.encode()

    def asgi_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers as an ASGI server hands them over (names lower-cased)."""
        return [(name.lower().encode(), value.encode()) for name, value in self.headers]


class _Captured(Exception):
    def __init__(self, request: CapturedRequest) -> None:
        super().__init__("captured")
        self.request = request


def boto3_request(
    service: str,
    call: Callable[[Any], object],
    *,
    endpoint_url: str,
    region: str,
    access_key_id: str,
    secret_access_key: str,
    session_token: str | None = None,
    at: datetime | None = None,
) -> CapturedRequest:
    """The signed request ``call(client)`` makes with a real boto3 client of ``service``,
    captured just before it would be sent (nothing is sent)."""
    import boto3
    from botocore.config import Config

    client = boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=access_key_id,
        aws_secret_access_key=secret_access_key,
        aws_session_token=session_token,
        config=Config(retries={"max_attempts": 1}),
    )

    def capture(request: Any, **_: object) -> None:
        headers = [("Host", urlsplit(request.url).netloc)]
        for name, value in request.headers.items():
            headers.append((name, value.decode() if isinstance(value, bytes) else str(value)))
        body = request.body or b""
        raise _Captured(
            CapturedRequest(
                method=request.method,
                url=request.url,
                headers=tuple(headers),
                body=body.encode() if isinstance(body, str) else bytes(body),
            )
        )

    client.meta.events.register("before-send", capture)
    with _frozen_at(at):
        try:
            call(client)
        except _Captured as captured:
            return captured.request
    raise AssertionError("the call sent no request")
