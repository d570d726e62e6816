"""The Nimbus code signature: an Ed25519 signature in the zip's comment, over the archive and
the profile version ARN, whose version part is the key's fingerprint."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from nimbus.control import code_signature as cs
from nimbus.control.code_signature import Broken, Signed, Unsigned
from nimbus.testing.archive import make_zip

# A fixed key, so the fingerprint below is a literal.
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
CODE = make_zip({"app.py": "def handler(event, context):\n    return event\n"})
WHERE = {"region": "us-east-1", "account": "000000000000"}


def signed(data: bytes = CODE, key: Ed25519PrivateKey = KEY, name: str = "prod") -> bytes:
    return cs.sign(data, key, name=name, **WHERE)


def arn_of(key: Ed25519PrivateKey, name: str = "prod") -> str:
    return cs.profile_version_arn(name=name, public_key=cs.raw_public_key(key), **WHERE)


def test_the_profile_version_is_the_keys_fingerprint() -> None:
    public = cs.raw_public_key(KEY)
    # base32(sha256(raw public key)[:20]), computed independently of the module.
    assert base64.b64encode(public).decode() == "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
    assert cs.fingerprint(public) == "KZDVVJ2UMNDUYAUF35O36K6KW462MUJV"
    assert arn_of(KEY) == (
        "arn:aws:signer:us-east-1:000000000000:/signing-profiles/prod/"
        "KZDVVJ2UMNDUYAUF35O36K6KW462MUJV"
    )
    assert cs.fingerprint(cs.raw_public_key(OTHER_KEY)) != cs.fingerprint(public)


def test_a_signed_zip_verifies_and_is_still_the_same_zip() -> None:
    data = signed()
    assert cs.verify(data) == Signed(profile_version_arn=arn_of(KEY))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.read("app.py") == b"def handler(event, context):\n    return event\n"
        assert archive.comment.startswith(b"nimbus-signature:v1:arn:aws:signer:us-east-1:")
    # Only the comment was added: the entries and central directory are byte-for-byte kept.
    assert data[: len(CODE) - 2] == CODE[:-2]


def test_signing_again_replaces_the_signature_and_any_comment() -> None:
    buffer = io.BytesIO(CODE)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.comment = b"built by ci"
    resigned = signed(signed(buffer.getvalue()), key=OTHER_KEY, name="other")
    assert cs.verify(resigned) == Signed(profile_version_arn=arn_of(OTHER_KEY, "other"))
    assert b"built by ci" not in resigned


def test_unsigned_zips_are_unsigned() -> None:
    assert cs.verify(CODE) == Unsigned()
    buffer = io.BytesIO(CODE)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.comment = b"just a comment"
    assert cs.verify(buffer.getvalue()) == Unsigned()
    assert cs.verify(b"not a zip at all") == Unsigned()
    assert cs.verify(b"") == Unsigned()


def test_changed_code_fails_the_integrity_check() -> None:
    data = bytearray(signed())
    data[40] ^= 0x01  # inside the first entry's name or data
    verdict = cs.verify(bytes(data))
    assert isinstance(verdict, Broken)
    assert "does not match the signature" in verdict.reason


def test_rezipped_content_with_the_old_comment_fails() -> None:
    original = signed()
    with zipfile.ZipFile(io.BytesIO(original)) as source:
        comment = source.comment
    changed = make_zip({"app.py": "def handler(event, context):\n    return 'evil'\n"})
    buffer = io.BytesIO(changed)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.comment = comment
    assert isinstance(cs.verify(buffer.getvalue()), Broken)


def test_bytes_appended_after_a_signed_zip_fail() -> None:
    data = signed()
    # A second end record (with the same comment) after the signed one: the signed record is
    # now inside the hashed part, so the hash no longer matches.
    forged = data + data[data.rfind(b"PK\x05\x06") :]
    assert isinstance(cs.verify(forged), Broken)


def test_a_signature_relabelled_to_another_profile_fails() -> None:
    data = signed()
    # Claim another profile name for the same key: the signature covers the ARN.
    relabelled = data.replace(b"/signing-profiles/prod/", b"/signing-profiles/prud/")
    verdict = cs.verify(relabelled)
    assert isinstance(verdict, Broken) and "does not match" in verdict.reason


def test_another_key_cannot_sign_as_a_profile_version() -> None:
    """Swapping in an attacker's key and signature under the victim's ARN: the key's
    fingerprint is not the version the ARN names."""
    victim = signed()
    attacker = signed(key=OTHER_KEY)
    victim_arn = arn_of(KEY)
    attacker_arn = arn_of(OTHER_KEY)
    forged = attacker.replace(attacker_arn.encode(), victim_arn.encode())
    verdict = cs.verify(forged)
    assert isinstance(verdict, Broken)
    assert verdict.reason == f"the public key is not the key of {victim_arn}"
    assert cs.verify(victim) == Signed(profile_version_arn=victim_arn)


@pytest.mark.parametrize(
    "comment",
    [
        b"nimbus-signature:v1:",
        b"nimbus-signature:v1:arn:aws:signer:us-east-1:000000000000:/signing-profiles/p/X:a:b",
        b"nimbus-signature:v1:not-an-arn:" + b"A" * 43 + b"=:" + b"A" * 86 + b"==",
    ],
)
def test_a_malformed_signature_block_fails(comment: bytes) -> None:
    buffer = io.BytesIO(CODE)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.comment = comment
    assert isinstance(cs.verify(buffer.getvalue()), Broken)


def test_what_cannot_be_signed_says_why() -> None:
    with pytest.raises(cs.SignatureFormatError, match="no end-of-central-directory"):
        signed(b"plain text")
    with pytest.raises(ValueError, match="2-64 letters"):
        signed(name="a-b")
