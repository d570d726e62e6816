"""The node key: one 256-bit AES-GCM key that seals what the store must not hold in clear
(access-key secrets, functions' environment variables) and temporary credentials' tokens.

It lives in ``<data_dir>/node.key`` (created 0600 on first start) unless NIMBUS_NODE_KEY gives
it (base64; every node of a cluster sharing one PostgreSQL needs the same key). Sealed values
are text, ``v1.<base64url(nonce || ciphertext+tag)>``; the associated data binds a value to
where it belongs (a function's name, a key id), so a sealed value copied into another row does
not open.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1."
_NONCE = 12


class SealedValueError(Exception):
    """A sealed value that does not open with this key (tampered, or sealed by another)."""


class NodeKey:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("the node key must be 32 bytes")
        self._aead = AESGCM(key)
        self._key = key

    @classmethod
    def generate(cls) -> NodeKey:
        return cls(AESGCM.generate_key(bit_length=256))

    @classmethod
    def from_base64(cls, text: str) -> NodeKey:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except ValueError as exc:
            raise ValueError("NIMBUS_NODE_KEY must be base64 of 32 bytes") from exc
        return cls(raw)

    @classmethod
    def load_or_create(cls, path: Path) -> NodeKey:
        """The key in ``path``, created (0600, atomically) if there is none."""
        try:
            return cls.from_base64(path.read_text())
        except FileNotFoundError:
            pass
        key = cls.generate()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, base64.b64encode(key._key) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # never replaces a key another process wrote meanwhile
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        return cls.from_base64(path.read_text())

    def seal(self, plaintext: bytes, aad: bytes = b"") -> str:
        nonce = os.urandom(_NONCE)
        blob = nonce + self._aead.encrypt(nonce, plaintext, aad)
        return PREFIX + base64.urlsafe_b64encode(blob).decode().rstrip("=")

    def open(self, sealed: str, aad: bytes = b"") -> bytes:
        if not sealed.startswith(PREFIX):
            raise SealedValueError("not a sealed value")
        text = sealed[len(PREFIX) :]
        try:
            blob = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except ValueError as exc:
            raise SealedValueError("not a sealed value") from exc
        if len(blob) < _NONCE + 16:
            raise SealedValueError("not a sealed value")
        try:
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], aad)
        except InvalidTag as exc:
            raise SealedValueError("the value does not open with this node's key") from exc

    def derive(self, purpose: bytes) -> bytes:
        """A 32-byte key for one ``purpose``, independent of the sealing key's use."""
        import hmac
        from hashlib import sha256

        return hmac.new(self._key, b"nimbus-derive:" + purpose, sha256).digest()
