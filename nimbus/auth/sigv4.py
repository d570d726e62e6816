"""AWS Signature Version 4, verified exactly as AWS computes it (pure): the claim a request
carries (``signed_request.parse``) checked for its credential scope, its time and its
signature.

The oracle is AWS's "Create a signed AWS API request" and botocore's ``SigV4Auth`` /
``SigV4QueryAuth``, which every boto3 and AWS CLI request goes through:

- The canonical URI is the path *as sent*, dot segments and empty segments removed, then
  percent-encoded once more (``quote(path, safe="/~")``): botocore already sends a Lambda ARN
  as ``arn%3Aaws%3Alambda...`` and signs ``arn%253Aaws%253Alambda...`` — every AWS service but
  S3 double-encodes. So the path is taken from the raw bytes, never the decoded one.
- The canonical query is every parameter (but a presigned URL's ``X-Amz-Signature``) decoded
  and re-encoded per RFC 3986 (unreserved ``A-Za-z0-9-_.~`` only, space as ``%20``), sorted by
  key then value. A ``+`` is decoded as a space, as the handlers' query parser reads it, so the
  signature covers what the request means.
- Canonical headers are the SignedHeaders, lower-cased, each value trimmed with runs of spaces
  collapsed, repeated headers comma-joined; ``host`` must be signed.
- The payload hash is ``X-Amz-Content-SHA256`` when sent (a hex SHA-256 the body must match,
  or ``UNSIGNED-PAYLOAD``), else the body's SHA-256. A presigned URL carries no body hash:
  botocore signs the (empty) body's hash for non-S3 services, other presigners
  ``UNSIGNED-PAYLOAD``; both are accepted.
- Time: X-Amz-Date (else the Date header) within ±5 minutes of now — ±15 minutes for IAM
  and STS, as they answer ("Signature expired: ... (... - 15 min.)"); a presigned URL from
  X-Amz-Date - 5 min until X-Amz-Date + X-Amz-Expires (1..604800 s).

Derived signing keys are cached (LRU keyed by the secret's hash, date, region, service): the
invoke hot path verifies every request. Signatures are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from nimbus.auth.errors import (
    CredentialScopeError,
    InvalidSignatureError,
    PayloadHashMismatchError,
    SignatureExpiredError,
    SignatureNotYetCurrentError,
)
from nimbus.auth.signed_request import HttpRequest, SignedRequest
from nimbus.auth.signing import (
    ALGORITHM,
    TERMINATOR,
    UNSIGNED_PAYLOAD,
    canonical_headers,
    canonical_query,
    canonical_uri,
    signature,
    signing_key,
    stamp,
)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SKEW_S = 300  # AWS's ±5 minutes
# IAM's and STS's window is ±15 minutes ("Signature expired: 20220127T001427Z is now earlier
# than 20220127T014428Z (20220127T015928Z - 15 min.)", SignatureDoesNotMatch).
WIDE_SKEW_S = 900
WIDE_SKEW_SERVICES = frozenset({"iam", "sts"})
# Services AWS scopes to us-east-1 whatever the caller's region (IAM is global; STS's global
# endpoint), so a client configured without a region still signs acceptably.
GLOBAL_SERVICES = frozenset({"iam", "sts"})
GLOBAL_REGION = "us-east-1"


def check_scope(
    signed: SignedRequest,
    *,
    region: str,
    services: frozenset[str],
    expected_service: str | None = None,
) -> None:
    """The credential scope names the request's date, this server's region, a service it
    serves (exactly ``expected_service`` when the caller knows it) and ``aws4_request``."""
    if signed.scope_date != signed.timestamp[:8]:
        raise CredentialScopeError(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{signed.scope_date}' != '{signed.timestamp[:8]}', from "
            f"'{signed.timestamp}'."
        )
    if signed.region != region and not (
        signed.service in GLOBAL_SERVICES and signed.region == GLOBAL_REGION
    ):
        raise CredentialScopeError(
            f"Credential should be scoped to a valid region, not '{signed.region}'. "
        )
    if expected_service is not None:
        if signed.service != expected_service:
            raise CredentialScopeError(
                f"Credential should be scoped to correct service: '{expected_service}'. "
            )
    elif signed.service not in services:
        served = ", ".join(f"'{name}'" for name in sorted(services))
        raise CredentialScopeError(
            f"Credential should be scoped to correct service: one of {served}, not "
            f"'{signed.service}'. "
        )
    if signed.terminator != TERMINATOR:
        raise CredentialScopeError(
            f"Credential should be scoped with a valid terminator: '{TERMINATOR}', not "
            f"'{signed.terminator}'. "
        )


def check_time(signed: SignedRequest, now: float) -> None:
    """The signature is current: ±5 minutes for a header (±15 for IAM and STS),
    X-Amz-Date - 5 min up to X-Amz-Date + X-Amz-Expires for a presigned URL (the messages
    are AWS's)."""
    when = signed.timestamp
    skew = WIDE_SKEW_S if signed.service in WIDE_SKEW_SERVICES else MAX_SKEW_S
    minutes = skew // 60
    if signed.signed_at > now + skew:
        raise SignatureNotYetCurrentError(
            f"Signature not yet current: {when} is still later than "
            f"{stamp(now + skew)} ({stamp(now)} + {minutes} min.)"
        )
    if signed.presigned and signed.expires_s:
        if signed.signed_at + signed.expires_s < now:
            raise SignatureExpiredError(
                f"Signature expired: {when} is now earlier than "
                f"{stamp(now - signed.expires_s)} ({stamp(now)} - {signed.expires_s} sec.)"
            )
    elif signed.signed_at < now - skew:
        raise SignatureExpiredError(
            f"Signature expired: {when} is now earlier than {stamp(now - skew)} "
            f"({stamp(now)} - {minutes} min.)"
        )


def verify(
    signed: SignedRequest,
    request: HttpRequest,
    secret: str,
    *,
    body: bytes = b"",
    body_sha256: str | None = None,
) -> None:
    """Raises ``InvalidSignatureError`` unless ``secret`` signed this request, and
    ``PayloadHashMismatchError`` when a signed X-Amz-Content-SHA256 is not the body's.
    ``body_sha256`` (hex) stands for ``body`` when the caller hashed it while receiving."""
    key = signing_key(secret, signed.scope_date, signed.region, signed.service)
    body_hash = _Lazy(body, body_sha256)
    declared = signed.content_sha256
    candidates: Iterable[str]
    if declared is not None:
        candidates = (declared,)
    elif signed.presigned:
        candidates = (body_hash.hex(), UNSIGNED_PAYLOAD)
    else:
        candidates = (body_hash.hex(),)
    given = signed.signature.encode("latin-1", "replace")
    uri = canonical_uri(request.raw_path)
    query = canonical_query(request.query_string, drop_signature=signed.presigned)
    headers = canonical_headers(request.headers, signed.signed_headers)
    matched = False
    for payload_hash in candidates:
        canonical = "\n".join(
            (request.method.upper(), uri, query, headers, ";".join(signed.signed_headers))
        )
        canonical += "\n" + payload_hash
        expected = signature(key, string_to_sign(signed, canonical))
        matched = hmac.compare_digest(expected.encode(), given) or matched
    if not matched:
        raise InvalidSignatureError()
    if declared not in (None, UNSIGNED_PAYLOAD) and declared.lower() != body_hash.hex():
        raise PayloadHashMismatchError(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )


def string_to_sign(signed: SignedRequest, canonical_request: str) -> str:
    digest = hashlib.sha256(canonical_request.encode("utf-8", "surrogateescape")).hexdigest()
    return f"{ALGORITHM}\n{signed.timestamp}\n{signed.credential_scope}\n{digest}"


class _Lazy:
    """The body's SHA-256, computed at most once and only when needed."""

    def __init__(self, body: bytes, known: str | None) -> None:
        self._body = body
        self._hex = known.lower() if known is not None else None

    def hex(self) -> str:
        if self._hex is None:
            self._hex = hashlib.sha256(self._body).hexdigest()
        return self._hex
