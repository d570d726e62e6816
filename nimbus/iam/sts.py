"""STS's AssumeRole and GetCallerIdentity, as AWS decides them (STS API reference; IAM User
Guide, "Granting a user permissions to switch roles", "Role chaining", "Session policies").

AssumeRole is allowed when the role's trust policy allows the caller ``sts:AssumeRole`` —
the trust policy being the role's resource policy, so a trust policy naming the caller (or
its role) suffices, while one naming only the account delegates to the caller's identity
policies, which must then allow ``sts:AssumeRole`` on the role; a trust policy naming
neither lets nobody in, whatever the caller's own policies allow (trust policies are the
exception to "either suffices within an account"). The root user cannot assume roles
(AWS: "Roles may not be assumed by root accounts."). A session from a session (role
chaining) lasts at most one hour. The request's ``ExternalId`` is the ``sts:ExternalId``
condition key, its session name ``sts:RoleSessionName``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from nimbus.auth.policy import Allow, Policy, evaluate, make_request, parse_policy
from nimbus.auth.ports import TemporaryCredentials
from nimbus.auth.principal import Principal, role_session
from nimbus.auth.session_tokens import SessionTokens
from nimbus.clock import Clock
from nimbus.iam import documents
from nimbus.iam.directory import IdentityDirectory
from nimbus.iam.errors import IamValidationError, PackedPolicyTooLargeError, StsAccessDeniedError
from nimbus.iam.identities import Identities
from nimbus.iam.validation import EXTERNAL_ID, SESSION_NAME, check_string

DURATION_RANGE = (900, 43200)  # roleDurationSecondsType
CHAINED_MAX_S = 3600
SESSION_POLICY_LIMIT = 2048  # plain-text characters of an inline session policy
_ROLE_ARN = re.compile(r"arn:aws:iam::(\d{12}):role(/[\u0021-\u007e]*)?/([\w+=,.@-]+)", re.ASCII)


@dataclass(frozen=True, kw_only=True)
class AssumedRole:
    credentials: TemporaryCredentials
    assumed_role_id: str  # AROA...:session
    arn: str  # arn:aws:sts::<acct>:assumed-role/<name>/<session>
    packed_policy_size: int | None  # percent of the session policy quota, when one was given


@dataclass(frozen=True, kw_only=True)
class CallerIdentity:
    user_id: str
    account: str
    arn: str


def caller_identity(principal: Principal) -> CallerIdentity:
    """Anyone authenticated may ask who they are: GetCallerIdentity needs no permission,
    and an explicit deny cannot stop it (STS API reference)."""
    return CallerIdentity(user_id=principal.user_id, account=principal.account, arn=principal.arn)


def _duration(value: int | None, max_session_s: int, chained: bool) -> int:
    if value is None:
        value = 3600
    low, high = DURATION_RANGE
    if not low <= value <= high:
        bound = (
            f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
        )
        raise IamValidationError(
            f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to "
            f"satisfy constraint: Member must have value {bound}"
        )
    if chained and value > CHAINED_MAX_S:
        raise IamValidationError(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed "
            "by role chaining."
        )
    if value > max_session_s:
        raise IamValidationError(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        )
    return value


class Sts:
    def __init__(
        self,
        identities: Identities,
        directory: IdentityDirectory,
        tokens: SessionTokens,
        *,
        account: str,
        clock: Clock,
    ) -> None:
        self._identities = identities
        self._directory = directory
        self._tokens = tokens
        self._account = account
        self._clock = clock

    async def assume_role(
        self,
        caller: Principal,
        role_arn: str,
        session_name: str,
        *,
        duration_s: int | None = None,
        external_id: str | None = None,
        policy: str | None = None,
        source_ip: str | None = None,
    ) -> AssumedRole:
        check_string(role_arn, "roleArn", min_len=20, max_len=2048)
        check_string(session_name, "roleSessionName", min_len=2, max_len=64, pattern=SESSION_NAME)
        if external_id is not None:
            check_string(external_id, "externalId", min_len=2, max_len=1224, pattern=EXTERNAL_ID)
        session_policy = self._session_policy(policy) if policy is not None else None
        denied = StsAccessDeniedError(
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
            f"{role_arn}"
        )
        if caller.is_root:
            raise StsAccessDeniedError("Roles may not be assumed by root accounts.")
        match = _ROLE_ARN.fullmatch(role_arn)
        if match is None or match.group(1) != self._account:
            raise denied
        role = await self._identities.find_role(match.group(3))
        if role is None or role.arn != role_arn:
            raise denied  # AWS does not say whether the role exists
        if not await self._trusted(
            caller, role_arn, role.trust_policy, session_name, external_id, source_ip
        ):
            raise denied
        duration = _duration(duration_s, role.max_session_s, caller.kind == "assumed-role")
        credentials = self._tokens.mint(
            role.arn,
            session_name,
            duration_s=duration,
            role_id=role.role_id,
            session_policy=policy,
        )
        session = role_session(role.arn, session_name, role_id=role.role_id)
        packed = None
        if session_policy is not None and policy is not None:
            packed = max(1, math.ceil(documents.size(policy) * 100 / SESSION_POLICY_LIMIT))
        return AssumedRole(
            credentials=credentials,
            assumed_role_id=session.user_id,
            arn=session.arn,
            packed_policy_size=packed,
        )

    @staticmethod
    def _session_policy(text: str) -> Policy:
        check_string(text, "policy", min_len=1, max_len=131072)
        parsed = documents.validate(text, "identity")
        used = documents.size(text)
        if used > SESSION_POLICY_LIMIT:
            percent = math.ceil(used * 100 / SESSION_POLICY_LIMIT)
            raise PackedPolicyTooLargeError(
                f"Packed policy consumes {percent}% of allotted space, please use smaller policy."
            )
        return parsed

    async def _trusted(
        self,
        caller: Principal,
        role_arn: str,
        trust_text: str,
        session_name: str,
        external_id: str | None,
        source_ip: str | None,
    ) -> bool:
        context: dict[str, object] = {"sts:RoleSessionName": session_name}
        if external_id is not None:
            context["sts:ExternalId"] = external_id
        if source_ip:
            context["aws:SourceIp"] = source_ip
        request = make_request(
            caller, "sts:AssumeRole", role_arn, now=self._clock.now(), context=context
        )
        trust = parse_policy(trust_text, "trust")
        identity = [
            parse_policy(dict(doc), "identity")
            for doc in await self._directory.identity_policies(caller)
        ]
        # Role chaining: the calling session's own session policy caps its sts:AssumeRole.
        held = caller.session_policy if caller.kind == "assumed-role" else None
        session = [parse_policy(held, "identity")] if held is not None else None
        decision = evaluate(
            request, identity=identity, resource=trust, same_account=True, session=session
        )
        if not isinstance(decision, Allow):
            return False
        if decision.via == "resource":
            return True  # the trust policy names the caller (or its role) itself
        # Allowed by the caller's identity policies alone: a trust policy is an exception to
        # the same-account rule (IAM User Guide, "Policy evaluation logic": role trust
        # policies must explicitly allow the principal), so it must at least name the
        # caller's account — which is the cross-account rule: both must allow.
        both = evaluate(
            request, identity=identity, resource=trust, same_account=False, session=session
        )
        return isinstance(both, Allow)
