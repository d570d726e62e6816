"""A dict-backed ``CredentialSource`` for tests: keys added by hand, temporary ones with a
session token and an expiry on an injected clock."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from nimbus.auth.errors import ExpiredTokenError
from nimbus.auth.ports import SigningIdentity
from nimbus.auth.principal import Principal
from nimbus.clock import Clock, SystemClock


@dataclass(frozen=True, kw_only=True)
class _Key:
    secret: str
    principal: Principal
    session_token: str | None
    expires_at: float | None


class StaticCredentials:
    def __init__(self, clock: Clock | None = None) -> None:
        self._clock = clock or SystemClock()
        self._keys: dict[str, _Key] = {}
        self.lookups: list[str] = []  # access key ids resolved, in order

    def add(
        self,
        access_key_id: str,
        secret: str,
        principal: Principal,
        *,
        session_token: str | None = None,
        expires_at: float | None = None,
    ) -> None:
        self._keys[access_key_id] = _Key(
            secret=secret, principal=principal, session_token=session_token, expires_at=expires_at
        )

    def remove(self, access_key_id: str) -> None:
        self._keys.pop(access_key_id, None)

    async def resolve(
        self, access_key_id: str, session_token: str | None
    ) -> SigningIdentity | None:
        self.lookups.append(access_key_id)
        key = self._keys.get(access_key_id)
        if key is None:
            return None
        if key.session_token is None:
            # A permanent key with a token: AWS calls the token invalid.
            return None if session_token is not None else _identity(key)
        if session_token is None or not hmac.compare_digest(
            key.session_token.encode(), session_token.encode()
        ):
            return None
        if key.expires_at is not None and self._clock.now() >= key.expires_at:
            raise ExpiredTokenError()
        return _identity(key)


def _identity(key: _Key) -> SigningIdentity:
    return SigningIdentity(secret=key.secret, principal=key.principal)
