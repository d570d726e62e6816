"""The signer's half of AWS Signature Version 4 (pure): the canonical request's pieces, the
derived signing key, and signing itself — a request's headers (``sign_headers``, as botocore's
``SigV4Auth``) or a presigned query string (``presign``). ``sigv4`` verifies with the same
pieces, so what Nimbus signs (its CLI, its code URLs) is what it accepts.

The rules (canonical URI double-encoded from the raw path, the query re-encoded per RFC 3986
and sorted, headers trimmed) are in ``sigv4``'s docstring, after AWS's "Create a signed AWS
API request".
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import OrderedDict
from collections.abc import Sequence
from urllib.parse import quote_from_bytes, unquote_to_bytes

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
MAX_EXPIRES_S = 604_800  # a presigned URL lives at most seven days, as on AWS
_UNRESERVED = "-_.~"


def stamp(epoch: float) -> str:
    """``epoch`` as SigV4's ISO 8601 basic timestamp (``20261203T150000Z``)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(epoch))


def canonical_uri(raw_path: bytes) -> str:
    path = raw_path.decode("latin-1")
    normalized = _remove_dot_segments(path) if path else "/"
    return quote_from_bytes(normalized.encode("latin-1"), safe="/~")


def canonical_query(query_string: bytes, *, drop_signature: bool = False) -> str:
    pairs = [
        (quote_from_bytes(key, _UNRESERVED), quote_from_bytes(value, _UNRESERVED))
        for key, value in query_pairs(query_string)
        if not (drop_signature and key == b"X-Amz-Signature")
    ]
    pairs.sort()
    return "&".join(f"{key}={value}" for key, value in pairs)


def canonical_headers(headers: Sequence[tuple[bytes, bytes]], signed: Sequence[str]) -> str:
    """The canonical header block, each line ending in a newline."""
    wanted = {name.encode("latin-1") for name in signed}
    values: dict[bytes, list[str]] = {}
    for name, value in headers:
        lowered = name.lower()
        if lowered in wanted:
            values.setdefault(lowered, []).append(" ".join(value.decode("latin-1").split()))
    lines = [f"{name}:{','.join(values.get(name.encode('latin-1'), ()))}\n" for name in signed]
    return "".join(lines)


def signature(key: bytes, text: str) -> str:
    return hmac.digest(key, text.encode("utf-8", "surrogateescape"), "sha256").hex()


_KEY_CACHE_SIZE = 512
_key_cache: OrderedDict[tuple[bytes, str, str, str], bytes] = OrderedDict()


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
    "aws4_request"), cached by the secret's hash (never the secret itself)."""
    cache_key = (hashlib.sha256(secret.encode()).digest(), date, region, service)
    key = _key_cache.get(cache_key)
    if key is not None:
        _key_cache.move_to_end(cache_key)
        return key
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, TERMINATOR):
        key = hmac.digest(key, part.encode(), "sha256")
    _key_cache[cache_key] = key
    if len(_key_cache) > _KEY_CACHE_SIZE:
        _key_cache.popitem(last=False)
    return key


def presign(
    *,
    method: str,
    host: str,
    raw_path: bytes,
    query: Sequence[tuple[str, str]] = (),
    access_key_id: str,
    secret: str,
    region: str,
    service: str,
    now: float,
    expires_s: int,
    session_token: str | None = None,
) -> str:
    """The query string (operation parameters, then the X-Amz-* ones) of a URL presigned the
    way S3's presigners do it (``host`` signed, ``UNSIGNED-PAYLOAD``), which ``verify`` accepts
    — for URLs Nimbus hands out itself, such as a function's code download."""
    if not 1 <= expires_s <= MAX_EXPIRES_S:
        raise ValueError(f"expires_s must be 1..{MAX_EXPIRES_S}")
    timestamp = stamp(now)
    scope = f"{timestamp[:8]}/{region}/{service}/{TERMINATOR}"
    auth = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key_id}/{scope}"),
        ("X-Amz-Date", timestamp),
        ("X-Amz-Expires", str(expires_s)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if session_token is not None:
        auth.append(("X-Amz-Security-Token", session_token))
    query_string = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in (*query, *auth))
    canonical = "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query_string.encode()),
            f"host:{' '.join(host.split())}\n",
            "host",
            UNSIGNED_PAYLOAD,
        )
    )
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    text = f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"
    sig = signature(signing_key(secret, timestamp[:8], region, service), text)
    return f"{query_string}&X-Amz-Signature={sig}"


def sign_headers(
    *,
    method: str,
    host: str,
    raw_path: bytes,
    query: bytes,
    body: bytes,
    access_key_id: str,
    secret: str,
    region: str,
    service: str,
    now: float,
    session_token: str | None = None,
) -> dict[str, str]:
    """The headers that sign this request (Authorization, X-Amz-Date, and
    X-Amz-Security-Token with a session token), as botocore's SigV4Auth signs it: ``host``,
    ``x-amz-date`` (and the token) signed, the body's SHA-256 as the payload hash;
    ``raw_path`` and ``query`` exactly as sent."""
    timestamp = stamp(now)
    scope = f"{timestamp[:8]}/{region}/{service}/{TERMINATOR}"
    headers = [(b"host", host.encode()), (b"x-amz-date", timestamp.encode())]
    if session_token:
        headers.append((b"x-amz-security-token", session_token.encode()))
    names = sorted(name.decode() for name, _ in headers)
    canonical = "\n".join(
        (
            method.upper(),
            canonical_uri(raw_path),
            canonical_query(query),
            canonical_headers(headers, names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        )
    )
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogateescape")).hexdigest()
    text = f"{ALGORITHM}\n{timestamp}\n{scope}\n{digest}"
    key = signing_key(secret, timestamp[:8], region, service)
    signed = {
        "Authorization": (
            f"{ALGORITHM} Credential={access_key_id}/{scope}, "
            f"SignedHeaders={';'.join(names)}, Signature={signature(key, text)}"
        ),
        "X-Amz-Date": timestamp,
    }
    if session_token:
        signed["X-Amz-Security-Token"] = session_token
    return signed


def query_pairs(query_string: bytes) -> list[tuple[bytes, bytes]]:
    pairs = []
    for part in query_string.split(b"&"):
        if part:
            key, _, value = part.partition(b"=")
            pairs.append(
                (
                    unquote_to_bytes(key.replace(b"+", b" ")),
                    unquote_to_bytes(value.replace(b"+", b" ")),
                )
            )
    return pairs


def _remove_dot_segments(path: str) -> str:
    # RFC 3986 5.2.4, and empty segments dropped, exactly as botocore's remove_dot_segments
    # (AWS services other than S3 normalise the path this way before signing).
    output: list[str] = []
    for segment in path.split("/"):
        if not segment or segment == ".":
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last


def _enc(text: str) -> str:
    return quote_from_bytes(text.encode(), _UNRESERVED)
