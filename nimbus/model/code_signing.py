"""Code signing configurations: which signing profile versions a function's code must be
signed by, and what happens to code that is not (Lambda's CodeSigningConfig shape)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

UntrustedArtifactPolicy = Literal["Warn", "Enforce"]


@dataclass(frozen=True, kw_only=True)
class CodeSigningConfig:
    config_id: str  # csc- + 17 hex digits
    arn: str  # arn:aws:lambda:<region>:<account>:code-signing-config:<config_id>
    allowed_profiles: tuple[str, ...]  # AllowedPublishers.SigningProfileVersionArns
    policy: UntrustedArtifactPolicy = "Warn"  # AWS's default
    description: str = ""
    last_modified: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return {
            "config_id": self.config_id,
            "arn": self.arn,
            "allowed_profiles": list(self.allowed_profiles),
            "policy": self.policy,
            "description": self.description,
            "last_modified": self.last_modified,
            "tags": dict(self.tags),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CodeSigningConfig:
        return cls(
            config_id=record["config_id"],
            arn=record["arn"],
            allowed_profiles=tuple(record["allowed_profiles"]),
            policy="Enforce" if record.get("policy") == "Enforce" else "Warn",
            description=record.get("description", ""),
            last_modified=record.get("last_modified", ""),
            tags=dict(record.get("tags", {})),
        )
