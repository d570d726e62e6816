"""The signature a request claims, read as AWS reads it (pure); ``sigv4`` checks it.

A request authenticates one way, never both ("Only one auth mechanism allowed"):

- the Authorization header, ``AWS4-HMAC-SHA256 Credential=<key id>/<date>/<region>/<service>/
  aws4_request, SignedHeaders=<names>, Signature=<hex>``, its time in X-Amz-Date, else the
  HTTP Date header;
- a presigned URL's query string: X-Amz-Algorithm, X-Amz-Credential, X-Amz-SignedHeaders,
  X-Amz-Date and X-Amz-Signature, and X-Amz-Expires (1..604800 s) when it expires.

``host`` must be a signed header; X-Amz-Security-Token carries a session's token. A request
that carries no signature is MissingAuthenticationToken; one whose signature is malformed or
incomplete, IncompleteSignature, with AWS's messages.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from nimbus.auth.errors import IncompleteSignatureError, MissingAuthenticationTokenError
from nimbus.auth.signing import ALGORITHM, MAX_EXPIRES_S, query_pairs, stamp

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
