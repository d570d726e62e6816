"""Who an access key is and what policies apply to them: IAM seen from authentication and
authorization (``CredentialSource``, ``IdentityPolicySource`` and ``RoleCredentialIssuer`` of
``nimbus.auth.ports``).

- ``AKIA...``: a long-term key in the store. Unknown or ``Inactive`` → None, as AWS answers
  both with InvalidClientTokenId. A key with no user is the account's own (root).
- ``ASIA...``: a temporary key, checked by its session token alone
  (``auth.session_tokens``).

Resolved long-term keys are kept for a second (every request is authenticated; the invoke
path must not pay a store read each time) and dropped at once on any IAM write. A key's
last use (GetAccessKeyLastUsed) is written at most once a minute per key."""

from __future__ import annotations

import re
from collections.abc import Sequence

import orjson

from nimbus.auth.ports import PolicyDocument, SigningIdentity, TemporaryCredentials
from nimbus.auth.principal import Principal, role_session, root
from nimbus.auth.session_tokens import SessionTokens, is_temporary
from nimbus.auth.single_flight import SingleFlight
from nimbus.clock import Clock
from nimbus.iam.identities import Identities
from nimbus.iam.policies import Policies
from nimbus.store.identity import IdentityRepository

CACHE_TTL_S = 1.0
# A user's or role's ARN at the default path: arn:aws:iam::<account>:<kind>/<name>.
_NAMED_ARN = re.compile(r"arn:aws:iam::(?P<account>\d{12}):(?P<kind>user|role)/(?P<name>[^/]+)")
LAST_USED_EVERY_S = 60.0
_MAX_CACHED = 10_000


class IdentityDirectory:
    def __init__(
        self,
        repo: IdentityRepository,
        identities: Identities,
        policies: Policies,
        tokens: SessionTokens,
        *,
        account: str,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._identities = identities
        self._policies = policies
        self._tokens = tokens
        self._account = account
        self._clock = clock
        self._cache: dict[str, tuple[float, SigningIdentity | None]] = {}
        # Role ARN -> (when read, IAM's role id or None): cold starts mint a session each and
        # must not pay a store read each (dropped with the key cache on any IAM write).
        self._role_ids: dict[str, tuple[float, str | None]] = {}
        # One store read per key at a time (a burst finding its key's entry expired). Bumped
        # by invalidate(): a read begun before must not refill the cache.
        self._lookups: SingleFlight[str, SigningIdentity | None] = SingleFlight()
        self._generation = 0
        self._touched: dict[str, float] = {}

    def invalidate(self) -> None:
        self._generation += 1
        self._cache.clear()
        self._role_ids.clear()

    # --- CredentialSource ---------------------------------------------------------------

    async def resolve(
        self, access_key_id: str, session_token: str | None
    ) -> SigningIdentity | None:
        if is_temporary(access_key_id):
            session = self._tokens.open(access_key_id, session_token)  # may raise Expired
            if session is None:
                return None
            # The session policy travels in the (sealed) token and on the principal, so
            # every request of the session is capped by it (Authorizer.decide).
            principal = role_session(
                session.role_arn,
                session.session_name,
                role_id=session.role_id,
                access_key_id=access_key_id,
                session_policy=session.session_policy,
            )
            return SigningIdentity(secret=session.secret_access_key, principal=principal)
        if session_token:
            # A long-term key never comes with a token (AWS: InvalidClientTokenId).
            return None
        now = self._clock.monotonic()
        cached = self._cache.get(access_key_id)
        if cached is not None and now - cached[0] < CACHE_TTL_S:
            found = cached[1]
        else:
            generation = self._generation
            found = await self._lookups.run(access_key_id, lambda: self._lookup(access_key_id))
            if generation == self._generation:
                if len(self._cache) >= _MAX_CACHED:
                    self._cache.clear()
                self._cache[access_key_id] = (now, found)
        if found is not None:
            await self._touch(access_key_id)
        return found

    async def _lookup(self, access_key_id: str) -> SigningIdentity | None:
        stored = await self._repo.get_key(access_key_id)
        if stored is None or stored[0].status != "Active":
            return None
        key, secret = stored
        if key.user_name is None:
            return SigningIdentity(secret=secret, principal=root(self._account, access_key_id))
        user = await self._repo.get_user(key.user_name)
        if user is None:
            return None
        principal = Principal(
            kind="user",
            arn=user.arn,
            account=self._account,
            name=user.name,
            user_id=user.user_id,
            access_key_id=access_key_id,
        )
        return SigningIdentity(secret=secret, principal=principal)

    async def _touch(self, access_key_id: str) -> None:
        now = self._clock.now()
        if now - self._touched.get(access_key_id, 0.0) < LAST_USED_EVERY_S:
            return
        if len(self._touched) >= _MAX_CACHED:
            self._touched.clear()
        self._touched[access_key_id] = now
        await self._repo.touch_key(access_key_id, now)

    # --- IdentityPolicySource -----------------------------------------------------------

    async def identity_policies(self, principal: Principal) -> Sequence[PolicyDocument]:
        """The stored policies of ``principal``'s user or role (never its session policy,
        which is on the principal itself and caps these rather than adding to them).

        A role is matched by its ARN, not its RoleId — unlike AWS, where a role deleted and
        re-created under the same name no longer honours the old one's sessions. Issue 12
        requires it (README, "Execution roles"): a function's execution role ARN unknown to
        IAM at CreateFunction is accepted and grants nothing until the role is created, and
        then the role's policies apply to the function's sessions, which were minted before
        the role had an id. So a session of a deleted role grants nothing; once a role of
        that ARN exists again its policies apply to the session (until it expires); a role
        re-created under another path has another ARN and grants its old sessions nothing.
        A user is matched by ARN the same way."""
        if principal.account != self._account:
            return []
        if principal.kind == "user":
            user = await self._repo.get_user(principal.name)
            if user is None or user.arn != principal.arn:
                return []
            texts = await self._policies.inline_documents("user", user.name)
            texts += await self._policies.attached_documents("user", user.name)
        elif principal.kind == "assumed-role":
            role = await self._repo.get_role(principal.name)
            # A role deleted (or re-created under another path) grants its old sessions
            # nothing; an execution role not (yet) in IAM grants nothing.
            if role is None or role.arn != principal.role_arn:
                return []
            texts = await self._policies.inline_documents("role", role.name)
            texts += await self._policies.attached_documents("role", role.name)
        else:
            return []
        return [orjson.loads(text) for text in texts]

    # --- IAM resources as the gate authorizes them -------------------------------------

    async def canonical_arn(self, arn: str) -> str:
        """The ARN of the user or role ``arn`` names with the default path (how the gate
        spells a request's ``UserName``/``RoleName``), with its real path: IAM authorizes
        ``role/service-role/boss`` under that path, so a policy on ``role/admins/*`` must
        match it. Anything else, or a name IAM does not know, comes back as given."""
        match = _NAMED_ARN.fullmatch(arn)
        if match is None or match.group("account") != self._account:
            return arn
        kind, name = match.group("kind"), match.group("name")
        found = (
            await self._repo.get_role(name) if kind == "role" else await self._repo.get_user(name)
        )
        return found.arn if found is not None else arn

    # --- RoleCredentialIssuer -----------------------------------------------------------

    async def issue(
        self, role_arn: str, session_name: str, *, duration_s: float
    ) -> TemporaryCredentials:
        """Credentials for a session of ``role_arn`` without any check (a function's execution
        role). The role's id is IAM's when the role exists, else a stable stand-in."""
        now = self._clock.monotonic()
        cached = self._role_ids.get(role_arn)
        if cached is not None and now - cached[0] < CACHE_TTL_S:
            role_id = cached[1]
        else:
            role_id = None
            name = role_arn.rsplit("/", 1)[-1]
            role = await self._identities.find_role(name) if ":role/" in role_arn else None
            if role is not None and role.arn == role_arn:
                role_id = role.role_id
            if len(self._role_ids) >= _MAX_CACHED:
                self._role_ids.clear()
            self._role_ids[role_arn] = (now, role_id)
        return self._tokens.mint(role_arn, session_name, duration_s=duration_s, role_id=role_id)
