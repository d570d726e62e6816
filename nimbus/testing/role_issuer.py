"""A ``RoleCredentialIssuer`` for tests: deterministic credentials, every call recorded."""

from __future__ import annotations

from dataclasses import dataclass, field

from nimbus.auth.ports import TemporaryCredentials
from nimbus.clock import Clock


@dataclass(frozen=True, kw_only=True)
class Issued:
    role_arn: str
    session_name: str
    duration_s: float


@dataclass(kw_only=True)
class FakeRoleIssuer:
    clock: Clock
    calls: list[Issued] = field(default_factory=list)
    fail: bool = False

    async def issue(
        self, role_arn: str, session_name: str, *, duration_s: float
    ) -> TemporaryCredentials:
        if self.fail:
            raise RuntimeError("the issuer is down")
        self.calls.append(
            Issued(role_arn=role_arn, session_name=session_name, duration_s=duration_s)
        )
        n = len(self.calls)
        return TemporaryCredentials(
            access_key_id=f"ASIAFAKE{n:012d}",
            secret_access_key=f"secret-{n}",
            session_token=f"token-{n}",
            expiration=self.clock.now() + duration_s,
        )
