"""What authentication and authorization need from the rest of Nimbus, as narrow Protocols
with their failure contracts. Implementations: iam/ (keys, identity policies, role sessions),
control/ (Lambda's resource policies), auth/authorizer.py (the decision)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from nimbus.auth.principal import Principal

# A policy document as parsed JSON ({"Version": ..., "Statement": [...]}).
PolicyDocument = Mapping[str, Any]


@dataclass(frozen=True, kw_only=True)
class SigningIdentity:
    """What a valid access key id (and, for temporary keys, its session token) stands for.
    A role session's ``principal`` carries its session policy (``Principal.session_policy``),
    so whatever authorizes the request caps it."""

    secret: str
    principal: Principal


class CredentialSource(Protocol):
    async def resolve(
        self, access_key_id: str, session_token: str | None
    ) -> SigningIdentity | None:
        """The secret and principal of ``access_key_id``; None when the key is unknown or
        inactive, or a temporary key's token does not belong to it (the caller answers
        UnrecognizedClientException). Raises ``auth.errors.ExpiredTokenError`` for a temporary
        key past its expiry."""
        ...


class IdentityPolicySource(Protocol):
    async def identity_policies(self, principal: Principal) -> Sequence[PolicyDocument]:
        """Every stored policy of ``principal``: a user's inline and attached policies, a
        role session's role's. Not a session's session policy, which is on the principal and
        caps these (it must not be added to them). Empty for an unknown role or user (a role
        ARN Nimbus's IAM does not know grants nothing). Never raises for a missing
        principal."""
        ...


class ResourcePolicySource(Protocol):
    async def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        """The resource-based policy attached to ``resource_arn`` (a Lambda function, version
        or alias ARN), or None. Never raises for a missing resource."""
        ...


@dataclass(frozen=True, kw_only=True)
class TemporaryCredentials:
    access_key_id: str  # ASIA...
    secret_access_key: str
    session_token: str
    expiration: float  # epoch seconds


class RoleCredentialIssuer(Protocol):
    async def issue(
        self, role_arn: str, session_name: str, *, duration_s: float
    ) -> TemporaryCredentials:
        """Temporary credentials for a session of ``role_arn``, minted without any check (the
        caller — Lambda giving a function its execution role, or STS after its own checks —
        has decided). Works for a role IAM does not know: it grants nothing until created."""
        ...


class AccessCheck(Protocol):
    async def allows(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, object] | None = None,
    ) -> bool:
        """Whether ``principal`` may do ``action`` (``lambda:InvokeFunction``) on ``resource``
        (an ARN), by its identity policies and the resource's policy, as IAM decides."""
        ...
