"""IAM's entities as frozen values: what the store holds and the IAM API answers with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OwnerKind = Literal["user", "role"]
KeyStatus = Literal["Active", "Inactive"]
# Tags in the order they were given, as IAM lists them.
Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class User:
    name: str
    user_id: str  # AIDA...
    path: str
    arn: str
    tags: Tags
    created_at: float


@dataclass(frozen=True, kw_only=True)
class Role:
    name: str
    role_id: str  # AROA...
    path: str
    arn: str
    trust_policy: str  # AssumeRolePolicyDocument, as given
    description: str
    max_session_s: int
    tags: Tags
    created_at: float


@dataclass(frozen=True, kw_only=True)
class ManagedPolicy:
    arn: str
    name: str
    policy_id: str  # ANPA... (ANPA too for AWS's own)
    path: str
    description: str
    default_version: str  # "v1"
    next_version: int
    tags: Tags
    created_at: float
    updated_at: float
    attachment_count: int = 0

    @property
    def aws_managed(self) -> bool:
        return self.arn.startswith("arn:aws:iam::aws:policy/")


@dataclass(frozen=True, kw_only=True)
class PolicyVersion:
    arn: str
    version_id: str
    document: str
    created_at: float


@dataclass(frozen=True, kw_only=True)
class AccessKey:
    """A long-term access key's metadata (its secret is read only to verify signatures)."""

    access_key_id: str  # AKIA...
    user_name: str | None  # None: a key of the account itself (root)
    status: KeyStatus
    created_at: float
    last_used_at: float | None = None


@dataclass(frozen=True, kw_only=True)
class InlinePolicy:
    kind: OwnerKind
    owner: str
    name: str
    document: str
