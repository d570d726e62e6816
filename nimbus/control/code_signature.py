"""Nimbus's code signature: a detached Ed25519 signature carried inside the zip it signs.

AWS Lambda verifies code against AWS Signer *signing profile versions*; Nimbus has no Signer,
so it defines its own signature with the same trust model. The signature travels in the
comment of the zip's end-of-central-directory record, so a signed zip is still the same
runnable zip (unzip, Python's zipfile and the worker ignore the comment)::

    nimbus-signature:v1:<profile version ARN>:<base64 public key>:<base64 signature>

The signature is Ed25519 over ``MESSAGE_PREFIX + ARN + "\\n" + sha256(zip with the comment
emptied)``, so it binds every byte of the archive (entries, central directory, the record's
fields) and the profile it claims; only the comment itself is outside it.

The profile version ARN is ``arn:aws:signer:<region>:<account>:/signing-profiles/<Name>/<V>``
where ``V`` is the key's fingerprint (base32 of the first 160 bits of sha256 of the raw
public key). A code signing config that allows that ARN therefore trusts exactly one key:
the verifier recomputes the fingerprint from the public key in the zip and refuses a
mismatch, so the server needs no key store, nothing to distribute or rotate beyond the ARN —
a new key is a new profile version, exactly as a new AWS Signer profile version is. AWS's
versions are 10 characters; 32 are used here because the version *is* the trust anchor
(10 base32 characters would be a 50-bit fingerprint, within reach of a second preimage).

Everything here is pure (bytes in, values out); ``cryptography`` does the curve arithmetic.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

COMMENT_PREFIX = "nimbus-signature:v1:"
MESSAGE_PREFIX = b"nimbus-signature:v1\n"
_EOCD = b"PK\x05\x06"
_EOCD_SIZE = 22
_MAX_COMMENT = 0xFFFF
FINGERPRINT_CHARS = 32

PROFILE_NAME_RE = re.compile(r"^[a-zA-Z0-9_]{2,64}$")  # botocore signer ProfileName
PROFILE_VERSION_ARN_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:signer:(?P<region>[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d):"
    r"(?P<account>\d{12}):/signing-profiles/(?P<name>[a-zA-Z0-9_]{2,64})/"
    r"(?P<version>[A-Z2-7]{32})$"
)
_COMMENT_RE = re.compile(
    r"^nimbus-signature:v1:(?P<arn>arn:[^\s]+):(?P<key>[A-Za-z0-9+/]{43}=):"
    r"(?P<signature>[A-Za-z0-9+/]{86}==)$"
)


class SignatureFormatError(ValueError):
    """A zip this module cannot sign (not a zip: no end-of-central-directory record)."""


@dataclass(frozen=True, kw_only=True)
class Unsigned:
    """The zip carries no Nimbus signature."""


@dataclass(frozen=True, kw_only=True)
class Signed:
    """The signature verifies: the zip is, byte for byte, what ``profile_version_arn``'s key
    signed."""

    profile_version_arn: str


@dataclass(frozen=True, kw_only=True)
class Broken:
    """A signature block that fails the integrity check: unparsable, a key that is not the
    one the ARN names, or a signature that does not match the code (tampered)."""

    reason: str


Verdict = Unsigned | Signed | Broken


def fingerprint(public_key: bytes) -> str:
    """The profile version a raw 32-byte Ed25519 public key stands for."""
    digest = hashlib.sha256(public_key).digest()[:20]
    return base64.b32encode(digest).decode()


def profile_version_arn(*, region: str, account: str, name: str, public_key: bytes) -> str:
    if not PROFILE_NAME_RE.fullmatch(name):
        raise ValueError(
            f"Signing profile name '{name}' is not valid: use 2-64 letters, digits or underscores."
        )
    return f"arn:aws:signer:{region}:{account}:/signing-profiles/{name}/{fingerprint(public_key)}"


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign(
    data: bytes, private_key: Ed25519PrivateKey, *, region: str, account: str, name: str
) -> bytes:
    """``data`` (a zip) with its comment replaced by a signature of profile ``name``'s key.
    Any comment the zip had is dropped: the comment is where the signature lives."""
    public_key = raw_public_key(private_key)
    arn = profile_version_arn(region=region, account=account, name=name, public_key=public_key)
    canonical = _canonical(data, _eocd_offset(data))
    signature = private_key.sign(_message(arn, canonical))
    comment = ":".join(
        (
            COMMENT_PREFIX + arn,
            base64.b64encode(public_key).decode(),
            base64.b64encode(signature).decode(),
        )
    ).encode()
    return canonical[:-2] + struct.pack("<H", len(comment)) + comment


def verify(data: bytes) -> Verdict:
    """What the signature block of ``data`` says, checked: never raises for any input."""
    offset = _find_eocd(data)
    if offset is None:
        return Unsigned()
    comment = data[offset + _EOCD_SIZE :]
    if not comment.startswith(COMMENT_PREFIX.encode()):
        return Unsigned()
    match = _COMMENT_RE.fullmatch(comment.decode("ascii", errors="replace"))
    if match is None:
        return Broken(reason="the signature block is malformed")
    arn = match.group("arn")
    parsed = PROFILE_VERSION_ARN_RE.fullmatch(arn)
    if parsed is None:
        return Broken(reason=f"'{arn}' is not a signing profile version ARN")
    try:
        public_key = base64.b64decode(match.group("key"), validate=True)
        signature = base64.b64decode(match.group("signature"), validate=True)
    except (binascii.Error, ValueError):
        return Broken(reason="the signature block is malformed")
    if fingerprint(public_key) != parsed.group("version"):
        return Broken(reason=f"the public key is not the key of {arn}")
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(
            signature, _message(arn, _canonical(data, offset))
        )
    except (InvalidSignature, ValueError):
        return Broken(reason=f"the code does not match the signature of {arn}")
    return Signed(profile_version_arn=arn)


def _message(arn: str, canonical: bytes) -> bytes:
    return MESSAGE_PREFIX + arn.encode() + b"\n" + hashlib.sha256(canonical).digest()


def _canonical(data: bytes, offset: int) -> bytes:
    """The zip with an empty comment: what is hashed, whatever the comment holds."""
    return data[: offset + _EOCD_SIZE - 2] + b"\x00\x00"


def _eocd_offset(data: bytes) -> int:
    offset = _find_eocd(data)
    if offset is None:
        raise SignatureFormatError("not a zip archive: it has no end-of-central-directory record")
    return offset


def _find_eocd(data: bytes) -> int | None:
    """The offset of the end-of-central-directory record whose comment runs exactly to the
    end of ``data`` (the last such record, as unzip finds it); None if there is none.
    Bytes appended after a signed zip therefore move the record the signature covers into
    the signed part, and the hash no longer matches."""
    floor = max(0, len(data) - _EOCD_SIZE - _MAX_COMMENT)
    position = len(data) - _EOCD_SIZE
    while position >= floor:
        position = data.rfind(_EOCD, floor, position + 4)
        if position < 0:
            return None
        (length,) = struct.unpack_from("<H", data, position + 20)
        if position + _EOCD_SIZE + length == len(data):
            return position
        position -= 1
    return None
