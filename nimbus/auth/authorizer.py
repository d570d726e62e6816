"""The access check every API call makes: a principal's identity policies, its session policy
(carried on the principal) and the resource's policy, fetched through the ports, parsed once,
decided by ``policy.evaluate``.

IAM is eventually consistent on AWS too ("Changes that I make are not always immediately
visible", IAM user guide): a policy change can take a moment to apply. Nimbus keeps each
principal's policies and each resource's policy for a short TTL (1 s by default) so that a
burst of calls costs one store read, and the services that write policies call
``invalidate()`` so that their own changes apply at once on this node; other nodes see them
within the TTL.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from nimbus.auth.policy import (
    Allow,
    Decision,
    MalformedPolicyError,
    Policy,
    PolicyKind,
    evaluate,
    make_request,
    parse_policy,
)
from nimbus.auth.ports import IdentityPolicySource, PolicyDocument, ResourcePolicySource
from nimbus.auth.principal import Principal
from nimbus.auth.single_flight import SingleFlight
from nimbus.clock import Clock

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)

# What a stored document that no longer parses stands for: everything denied (fail closed;
# documents are validated when written, so this only follows a manual edit of the store).
_DENY_ALL: dict[PolicyKind, Policy] = {
    "identity": parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Sid": "MalformedPolicy",
                "Effect": "Deny",
                "Action": "*",
                "Resource": "*",
            },
        }
    ),
    "resource": parse_policy(
        {
            "Version": "2012-10-17",
            "Statement": {
                "Sid": "MalformedPolicy",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
            },
        },
        "resource",
    ),
}


@dataclass(frozen=True, slots=True)
class _Cached:
    expires: float  # monotonic
    policies: tuple[Policy, ...]


class Authorizer:
    """``AccessCheck`` over an ``IdentityPolicySource`` and a ``ResourcePolicySource``."""

    def __init__(
        self,
        identities: IdentityPolicySource,
        resources: ResourcePolicySource,
        *,
        clock: Clock,
        ttl_s: float = 1.0,
        max_entries: int = 4096,
    ) -> None:
        self._identities = identities
        self._resources = resources
        self._clock = clock
        self._ttl_s = ttl_s
        self._max = max_entries
        self._parsed: OrderedDict[tuple[PolicyKind, str], Policy] = OrderedDict()
        self._by_principal: OrderedDict[tuple[str, str, str], _Cached] = OrderedDict()
        self._by_resource: OrderedDict[str, _Cached] = OrderedDict()
        # Bumped by invalidate(): a fetch that started before it must not refill the cache.
        self._generation = 0
        # One fetch per principal or resource at a time (a burst finding an entry expired).
        self._identity_fetches: SingleFlight[tuple[str, str, str], Sequence[PolicyDocument]] = (
            SingleFlight()
        )
        self._resource_fetches: SingleFlight[str, PolicyDocument | None] = SingleFlight()

    def invalidate(self) -> None:
        """Forget every cached policy (IAM and Lambda call this after their own writes)."""
        self._generation += 1
        self._by_principal.clear()
        self._by_resource.clear()

    async def allows(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, object] | None = None,
    ) -> bool:
        decision = await self.decide(principal, action, resource, context)
        return isinstance(decision, Allow)

    async def decide(
        self,
        principal: Principal,
        action: str,
        resource: str,
        context: Mapping[str, object] | None = None,
    ) -> Decision:
        request = make_request(principal, action, resource, now=self._clock.now(), context=context)
        same_account = _same_account(principal, resource)
        if principal.is_root and same_account:
            return evaluate(request, identity=(), resource=None, same_account=True)
        identity = await self._identity_policies(principal)
        resource_policy = await self._resource_policy(resource)
        return evaluate(
            request,
            identity=identity,
            resource=resource_policy,
            same_account=same_account,
            session=self._session_policies(principal),
        )

    def _session_policies(self, principal: Principal) -> tuple[Policy, ...] | None:
        """The session policy the principal carries (AssumeRole's Policy, from its session
        token), parsed once per distinct text; None when it has none — not an empty tuple,
        which would cap the session to nothing."""
        if principal.session_policy is None or principal.kind != "assumed-role":
            return None
        return (self.parse(principal.session_policy, "identity"),)

    def parse(self, document: PolicyDocument | str, kind: PolicyKind) -> Policy:
        """``document`` parsed, once per distinct text; a malformed stored one denies all."""
        text = document if isinstance(document, str) else json.dumps(document, sort_keys=True)
        key = (kind, text)
        found = self._parsed.get(key)
        if found is not None:
            self._parsed.move_to_end(key)
            return found
        try:
            policy = parse_policy(text, kind)
        except MalformedPolicyError as err:
            log.warning("a stored %s policy is malformed (%s); it denies everything", kind, err)
            policy = _DENY_ALL["resource" if kind == "resource" else "identity"]
        self._parsed[key] = policy
        if len(self._parsed) > self._max:
            self._parsed.popitem(last=False)
        return policy

    async def _identity_policies(self, principal: Principal) -> tuple[Policy, ...]:
        """The stored policies of the principal's user or role. Cached by who the principal
        is; the session policy is not part of what is cached (it travels on the principal
        itself and is applied by ``decide``), so sessions of one role with different session
        policies can share the role's entry without one's cap reaching the other."""
        if principal.kind in ("service", "anonymous"):
            return ()
        key = (principal.kind, principal.arn, principal.role_arn)
        now = self._clock.monotonic()
        cached = self._by_principal.get(key)
        if cached is not None and cached.expires > now:
            return cached.policies
        generation = self._generation
        documents = await self._identity_fetches.run(
            key, lambda: self._identities.identity_policies(principal)
        )
        policies = tuple(self.parse(d, "identity") for d in documents)
        if generation == self._generation:
            _remember(self._by_principal, key, _Cached(now + self._ttl_s, policies), self._max)
        return policies

    async def _resource_policy(self, resource: str) -> Policy | None:
        if not resource.startswith("arn:"):
            return None
        now = self._clock.monotonic()
        cached = self._by_resource.get(resource)
        if cached is not None and cached.expires > now:
            return cached.policies[0] if cached.policies else None
        generation = self._generation
        document = await self._resource_fetches.run(
            resource, lambda: self._resources.resource_policy(resource)
        )
        policies = () if document is None else (self.parse(document, "resource"),)
        if generation == self._generation:
            _remember(self._by_resource, resource, _Cached(now + self._ttl_s, policies), self._max)
        return policies[0] if policies else None


def _remember(cache: OrderedDict[K, _Cached], key: K, value: _Cached, limit: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    if len(cache) > limit:
        cache.popitem(last=False)


def _same_account(principal: Principal, resource: str) -> bool:
    """Whether ``resource`` (an ARN, or "*" for actions on no resource) is in the principal's
    account; ARNs without an account (``arn:aws:s3:::bucket``) count as the caller's."""
    parts = resource.split(":", 5)
    if len(parts) < 5 or not parts[4]:
        return True
    return parts[4] == principal.account
