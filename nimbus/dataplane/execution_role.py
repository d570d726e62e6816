"""Each new environment's temporary credentials for its function's execution role.

AWS assumes the function's role when it starts an execution environment and sets the session
in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, the session named after
the function (the assumed-role ARN is ``.../assumed-role/<role>/<function name>``). Nimbus
mints one session per environment, through the ``RoleCredentialIssuer`` port (iam's
``auth/session_tokens.py``), so a function's calls back into Nimbus are authorized as its role;
the credentials travel in the environment's spec into the sandbox's memfd configuration
(worker/env_vars.py), never into a long-lived process's environment. A role Nimbus's IAM does
not know still gets a session: it grants nothing until the role is created.
"""

from __future__ import annotations

import dataclasses
import logging

from nimbus.auth.ports import RoleCredentialIssuer
from nimbus.dataplane import credential_policy
from nimbus.errors import ServiceError
from nimbus.model.invocation import EnvironmentSpec, SessionCredentials

log = logging.getLogger(__name__)


class ExecutionRole:
    def __init__(
        self, *, issuer: RoleCredentialIssuer, ttl_s: float = credential_policy.DEFAULT_TTL_S
    ) -> None:
        if ttl_s < credential_policy.MIN_TTL_S:
            raise ValueError(
                f"role credentials must last at least {credential_policy.MIN_TTL_S:.0f} s "
                "(STS's shortest role session)"
            )
        self._issuer = issuer
        self._ttl_s = ttl_s

    async def credentials_for(self, spec: EnvironmentSpec) -> EnvironmentSpec:
        """``spec`` with fresh credentials of its function's role (unchanged without one)."""
        if not spec.role_arn:
            return spec
        try:
            issued = await self._issuer.issue(
                spec.role_arn, spec.function_name, duration_s=self._ttl_s
            )
        except Exception as exc:
            log.exception("issuing role credentials for %s failed", spec.function_name)
            raise ServiceError(
                f"Lambda could not obtain credentials for the execution role of "
                f"{spec.function_name}. Try again; the server log says why."
            ) from exc
        return dataclasses.replace(
            spec,
            credentials=SessionCredentials(
                access_key_id=issued.access_key_id,
                secret_access_key=issued.secret_access_key,
                session_token=issued.session_token,
                expiration=issued.expiration,
            ),
        )
