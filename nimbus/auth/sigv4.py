"""AWS Signature Version 4, verified exactly as AWS computes it (pure).

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

import calendar
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from nimbus.auth.errors import (
    CredentialScopeError,
    IncompleteSignatureError,
    InvalidSignatureError,
    MissingAuthenticationTokenError,
    PayloadHashMismatchError,
    SignatureExpiredError,
    SignatureNotYetCurrentError,
)
from nimbus.auth.signing import (
    ALGORITHM,
    MAX_EXPIRES_S,
    TERMINATOR,
    UNSIGNED_PAYLOAD,
    canonical_headers,
    canonical_query,
    canonical_uri,
    query_pairs,
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

_TIMESTAMP = re.compile(r"\d{8}T\d{6}Z")
_QUERY_AUTH = (b"X-Amz-Algorithm", b"X-Amz-Credential", b"X-Amz-Signature")


@dataclass(frozen=True, kw_only=True)
class HttpRequest:
    """The parts of a request a signature covers, as received (ASGI's ``raw_path``, the raw
    query string, header names lower-cased)."""

    method: str
    raw_path: bytes
    query_string: bytes = b""
    headers: Sequence[tuple[bytes, bytes]] = ()


@dataclass(frozen=True, kw_only=True)
class SignedRequest:
    """What a request's Authorization header or presigned query string claims."""

    access_key_id: str
    scope_date: str  # YYYYMMDD from the credential scope
    region: str
    service: str
    terminator: str
    timestamp: str  # X-Amz-Date (or the Date header) as YYYYMMDD'T'HHMMSS'Z'
    signed_at: float  # the timestamp in epoch seconds
    signed_headers: tuple[str, ...]
    signature: str
    session_token: str | None
    presigned: bool
    expires_s: int = 0  # presigned only; 0 when X-Amz-Expires is absent
    content_sha256: str | None = None  # X-Amz-Content-SHA256 as sent

    @property
    def credential_scope(self) -> str:
        return f"{self.scope_date}/{self.region}/{self.service}/{self.terminator}"


def carries_signature(request: HttpRequest) -> bool:
    """Whether the request tries to authenticate at all (an Authorization header or a
    presigned query string) — e.g. for a function URL whose auth type is NONE."""
    if any(name == b"authorization" for name, _ in request.headers):
        return True
    return any(key in _QUERY_AUTH for key, _ in query_pairs(request.query_string))


def parse(request: HttpRequest) -> SignedRequest:
    """The signature a request carries. Raises ``MissingAuthenticationTokenError`` when it
    carries none, ``IncompleteSignatureError`` when it is malformed."""
    headers = _header_map(request.headers)
    params: dict[bytes, bytes] = {}
    for key, value in query_pairs(request.query_string):
        params.setdefault(key, value)
    authorization = headers.get("authorization")
    presigned = any(key in params for key in _QUERY_AUTH)
    if authorization and presigned:
        raise IncompleteSignatureError(
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the "
            "Authorization header should be specified."
        )
    if authorization:
        if len(authorization) > 1:
            raise IncompleteSignatureError("The request has more than one Authorization header.")
        return _parse_header_form(authorization[0], headers)
    if presigned:
        return _parse_query_form(params, headers)
    raise MissingAuthenticationTokenError()


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


# --- Parsing -------------------------------------------------------------------------------


def _parse_header_form(authorization: str, headers: dict[str, list[str]]) -> SignedRequest:
    algorithm, _, rest = authorization.strip().partition(" ")
    if algorithm.startswith("AWS4-") and algorithm != ALGORITHM:
        raise IncompleteSignatureError(
            f"Unsupported AWS 'algorithm': '{algorithm[:40]}'. Nimbus accepts {ALGORITHM}."
        )
    fields: dict[str, str] = {}
    if algorithm == ALGORITHM:
        for part in rest.split(","):
            name, eq, value = part.strip().partition("=")
            if eq:
                fields.setdefault(name.strip(), value.strip())
    stamp = _first(headers, "x-amz-date") or _date_header(_first(headers, "date"))
    problems = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if stamp is None:
        problems.append(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        )
    if problems:
        raise IncompleteSignatureError(" ".join(problems))
    assert stamp is not None
    return _signed(
        credential=fields["Credential"],
        signed_headers=fields["SignedHeaders"],
        signature_=fields["Signature"],
        stamp=stamp,
        session_token=_first(headers, "x-amz-security-token"),
        presigned=False,
        expires_s=0,
        content_sha256=_first(headers, "x-amz-content-sha256"),
    )


def _parse_query_form(params: dict[bytes, bytes], headers: dict[str, list[str]]) -> SignedRequest:
    def param(name: str) -> str | None:
        value = params.get(name.encode())
        return None if value is None else value.decode("utf-8", "replace")

    required = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature")
    missing = [name for name in (*required, "X-Amz-SignedHeaders", "X-Amz-Date") if not param(name)]
    if missing:
        raise IncompleteSignatureError(
            " ".join(f"AWS query-string parameters must include '{name}'." for name in missing)
            + " Re-examine the query-string parameters."
        )
    if param("X-Amz-Algorithm") != ALGORITHM:
        raise IncompleteSignatureError(
            f"X-Amz-Algorithm only supports '{ALGORITHM}', not "
            f"'{(param('X-Amz-Algorithm') or '')[:40]}'."
        )
    expires_text = param("X-Amz-Expires")
    expires_s = 0
    if expires_text is not None:
        if not expires_text.isdigit() or not 1 <= int(expires_text) <= MAX_EXPIRES_S:
            raise IncompleteSignatureError(
                f"X-Amz-Expires must be a whole number of seconds from 1 to {MAX_EXPIRES_S} "
                f"(seven days), not '{expires_text[:20]}'."
            )
        expires_s = int(expires_text)
    token = param("X-Amz-Security-Token") or _first(headers, "x-amz-security-token")
    return _signed(
        credential=param("X-Amz-Credential") or "",
        signed_headers=param("X-Amz-SignedHeaders") or "",
        signature_=param("X-Amz-Signature") or "",
        stamp=param("X-Amz-Date") or "",
        session_token=token,
        presigned=True,
        expires_s=expires_s,
        content_sha256=param("X-Amz-Content-Sha256") or param("X-Amz-Content-SHA256"),
    )


def _signed(
    *,
    credential: str,
    signed_headers: str,
    signature_: str,
    stamp: str,
    session_token: str | None,
    presigned: bool,
    expires_s: int,
    content_sha256: str | None,
) -> SignedRequest:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise IncompleteSignatureError(
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{credential[:200]}'"
        )
    if not _TIMESTAMP.fullmatch(stamp):
        raise IncompleteSignatureError(
            f"X-Amz-Date must be in the ISO 8601 basic format YYYYMMDD'T'HHMMSS'Z', not "
            f"'{stamp[:40]}'."
        )
    signed_at = _epoch(stamp)
    names = tuple(name.strip().lower() for name in signed_headers.split(";"))
    if "host" not in names:
        raise IncompleteSignatureError(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        )
    return SignedRequest(
        access_key_id=parts[0],
        scope_date=parts[1],
        region=parts[2],
        service=parts[3],
        terminator=parts[4],
        timestamp=stamp,
        signed_at=signed_at,
        signed_headers=names,
        signature=signature_,
        session_token=session_token or None,
        presigned=presigned,
        expires_s=expires_s,
        content_sha256=content_sha256,
    )


def _epoch(stamp: str) -> float:
    try:
        moment = datetime(
            int(stamp[0:4]),
            int(stamp[4:6]),
            int(stamp[6:8]),
            int(stamp[9:11]),
            int(stamp[11:13]),
            int(stamp[13:15]),
            tzinfo=UTC,
        )
    except ValueError:
        raise IncompleteSignatureError(f"X-Amz-Date is not a valid date: '{stamp}'.") from None
    return moment.timestamp()


def _date_header(value: str | None) -> str | None:
    # AWS falls back on the HTTP Date header when X-Amz-Date is absent.
    if value is None:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return value  # reported as a malformed date
    return stamp(calendar.timegm(parsed.utctimetuple()))


def _header_map(headers: Sequence[tuple[bytes, bytes]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
    return out


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0].strip() if values else None


class _Lazy:
    """The body's SHA-256, computed at most once and only when needed."""

    def __init__(self, body: bytes, known: str | None) -> None:
        self._body = body
        self._hex = known.lower() if known is not None else None

    def hex(self) -> str:
        if self._hex is None:
            self._hex = hashlib.sha256(self._body).hexdigest()
        return self._hex
