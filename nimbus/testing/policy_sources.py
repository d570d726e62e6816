"""In-memory policy sources for unit tests: the ports IAM and Lambda implement for real
(``IdentityPolicySource``, ``ResourcePolicySource``), counting their reads."""

from __future__ import annotations

from collections.abc import Sequence

from nimbus.auth.ports import PolicyDocument
from nimbus.auth.principal import Principal


class FakeIdentityPolicies:
    """Policies by principal ARN; a session gets its role's (keyed by the role ARN)."""

    def __init__(self, policies: dict[str, list[PolicyDocument]] | None = None) -> None:
        self.policies: dict[str, list[PolicyDocument]] = dict(policies or {})
        self.reads = 0

    async def identity_policies(self, principal: Principal) -> Sequence[PolicyDocument]:
        self.reads += 1
        return list(self.policies.get(principal.role_arn or principal.arn, []))


class FakeResourcePolicies:
    def __init__(self, policies: dict[str, PolicyDocument] | None = None) -> None:
        self.policies: dict[str, PolicyDocument] = dict(policies or {})
        self.reads = 0

    async def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        self.reads += 1
        return self.policies.get(resource_arn)
