"""Temporary credentials that need no store: the session token *is* the session.

A temporary key is what STS hands out (AssumeRole) and what a function's environment gets
for its execution role: an ``ASIA...`` access key id, a secret and a session token, all three
sent back with every request signed by them (``X-Amz-Security-Token``), as on AWS.

- The token is a document sealed with the node key (AES-GCM): the key id, the role ARN and
  id, the session name, the expiry and the session policy, if any. The associated data is
  the key id, so a token presented with another key id does not open.
- The secret is derived from the key id with ``NodeKey.derive``: whoever holds the node key
  recomputes it, nobody else can.

So any node sharing the node key verifies a temporary key without a lookup, and nothing is
written when one is minted (a function's environments get one each). A session cannot be
revoked before it expires — as on AWS, where the remedy is denying the role's old sessions
by policy; deleting the role leaves its sessions with no permissions at all.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from nimbus.auth.errors import ExpiredTokenError
from nimbus.auth.node_key import NodeKey, SealedValueError
from nimbus.auth.ports import TemporaryCredentials
from nimbus.clock import Clock

TEMPORARY_PREFIX = "ASIA"
_ALPHABET = string.ascii_uppercase + "234567"
_TOKEN_AAD = b"nimbus-session-token:"
_SECRET_PURPOSE = b"session-secret"


@dataclass(frozen=True, kw_only=True)
class Session:
    """What a valid session token says."""

    access_key_id: str
    secret_access_key: str
    role_arn: str
    role_id: str
    session_name: str
    expiration: float
    session_policy: str | None = None  # the Policy given to AssumeRole, as JSON text


def derived_role_id(role_arn: str) -> str:
    """A stable ``AROA...`` for a role IAM does not know (an execution role named before it
    is created): AWS's role ids are 21 characters, AROA and 17 of [A-Z2-7]."""
    digest = base64.b32encode(hashlib.sha256(role_arn.encode()).digest()).decode()
    return "AROA" + digest[:17]


def is_temporary(access_key_id: str) -> bool:
    return access_key_id.startswith(TEMPORARY_PREFIX)


class SessionTokens:
    """Mints and opens temporary credentials (a ``RoleCredentialIssuer``)."""

    def __init__(self, node_key: NodeKey, *, clock: Clock) -> None:
        self._key = node_key
        self._secrets = node_key.derive(_SECRET_PURPOSE)
        self._clock = clock

    def _secret(self, access_key_id: str) -> str:
        mac = hmac.new(self._secrets, access_key_id.encode(), hashlib.sha256).digest()
        return base64.b64encode(mac).decode()[:40]

    async def issue(
        self,
        role_arn: str,
        session_name: str,
        *,
        duration_s: float,
        role_id: str | None = None,
        session_policy: str | None = None,
    ) -> TemporaryCredentials:
        return self.mint(
            role_arn,
            session_name,
            duration_s=duration_s,
            role_id=role_id,
            session_policy=session_policy,
        )

    def mint(
        self,
        role_arn: str,
        session_name: str,
        *,
        duration_s: float,
        role_id: str | None = None,
        session_policy: str | None = None,
    ) -> TemporaryCredentials:
        key_id = TEMPORARY_PREFIX + "".join(secrets.choice(_ALPHABET) for _ in range(16))
        # Whole seconds: STS's Expiration is an ISO-8601 time without fractions.
        expiration = float(int(self._clock.now() + duration_s))
        claims: dict[str, Any] = {
            "k": key_id,
            "r": role_arn,
            "i": role_id or derived_role_id(role_arn),
            "s": session_name,
            "x": expiration,
        }
        if session_policy is not None:
            claims["p"] = session_policy
        token = self._key.seal(orjson.dumps(claims), _TOKEN_AAD + key_id.encode())
        return TemporaryCredentials(
            access_key_id=key_id,
            secret_access_key=self._secret(key_id),
            session_token=token,
            expiration=expiration,
        )

    def open(self, access_key_id: str, session_token: str | None) -> Session | None:
        """The session of ``access_key_id``; None when the token is missing, tampered, sealed
        by another node key or minted for another key id. Raises ``ExpiredTokenError`` once
        the session has expired."""
        if not is_temporary(access_key_id) or not session_token:
            return None
        try:
            raw = self._key.open(session_token, _TOKEN_AAD + access_key_id.encode())
            claims = orjson.loads(raw)
        except (SealedValueError, orjson.JSONDecodeError):
            return None
        if not isinstance(claims, Mapping) or claims.get("k") != access_key_id:
            return None
        if self._clock.now() >= float(claims["x"]):
            raise ExpiredTokenError()
        return Session(
            access_key_id=access_key_id,
            secret_access_key=self._secret(access_key_id),
            role_arn=str(claims["r"]),
            role_id=str(claims["i"]),
            session_name=str(claims["s"]),
            expiration=float(claims["x"]),
            session_policy=claims.get("p"),
        )
