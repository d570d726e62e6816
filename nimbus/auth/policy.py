"""IAM's policy language and evaluation logic: one pure evaluator for identity, resource and
trust policies, with time passed in.

AWS's rules (IAM user guide, "IAM JSON policy elements reference", "Policy evaluation logic",
"Cross-account policy evaluation logic", "AWS JSON policy elements: Principal"):

- Documents are parsed and validated once (``policy_document.parse_policy``, re-exported here).
- Actions match case-insensitively, with ``*``/``?`` wildcards (``lambda:Get*``); resources
  match case-sensitively with wildcards that stay within an ARN segment, except in the last.
  ``NotAction``/``NotResource`` match everything the list does not.
- Principals: ``"*"`` is anyone; an account (``123456789012`` or
  ``arn:aws:iam::123456789012:root``) is every principal of that account; a user or
  assumed-role session ARN is that principal; a role ARN is every session of the role.
  ``Service`` names an AWS service principal (``sns.amazonaws.com``). ``NotPrincipal``
  excludes a caller only when the caller's own ARN (or its role's) *and* its account are
  listed — AWS's documented behaviour, so a Deny listing just a user denies the user too.
- Evaluation: an explicit ``Deny`` in any applicable policy wins. Otherwise, within one
  account, the request is allowed if an identity policy allows it *or* the resource policy
  allows it for this principal. Across accounts both must allow it. A resource policy naming
  only the caller's *account* delegates to the account's identity policies: in the same
  account it grants nothing by itself (it is the cross-account half of the grant).
  Session policies, when given, cap what the identity policies grant (a resource policy
  naming the session itself is not capped; one naming its role is), and a Deny in one wins
  like any other. Nothing applies: implicit deny.
- The account's root principal is allowed everything in its account without any policy, like
  the AWS root user. (Unlike AWS, even a resource policy's Deny does not apply to it, so
  Nimbus's administrator can never lock itself out of a function.)
- A service principal (Nimbus acting for an AWS service) and the anonymous caller of a NONE
  function URL have no identity policies: the resource policy alone decides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from nimbus.auth.conditions import MalformedPolicyError, all_hold
from nimbus.auth.policy_document import Policy, PolicyKind, Statement, parse_policy
from nimbus.auth.principal import Principal
from nimbus.auth.wildcards import Context, ContextScalar

__all__ = [
    "Allow",
    "Decision",
    "ExplicitDeny",
    "ImplicitDeny",
    "MalformedPolicyError",
    "Policy",
    "PolicyKind",
    "Request",
    "Statement",
    "denial_message",
    "evaluate",
    "make_request",
    "parse_policy",
]

PolicyType = Literal["identity", "resource", "session"]

# ---------------------------------------------------------------------------------------------
# The request and the decision


@dataclass(frozen=True, kw_only=True, slots=True)
class Request:
    """What is asked: ``principal`` wants ``action`` on ``resource`` (an ARN, or "*"), with
    the request's context keys (lower-cased, each with its values; see ``make_request``)."""

    principal: Principal
    action: str
    resource: str
    context: Context


_PRINCIPAL_TYPE = {"root": "Account", "user": "User", "assumed-role": "AssumedRole"}


def make_request(
    principal: Principal,
    action: str,
    resource: str,
    *,
    now: float,
    context: Mapping[str, object] | None = None,
) -> Request:
    """A request with AWS's global keys derived from the principal and ``now``
    (``aws:PrincipalArn`` — a session's *role* ARN, as AWS sets it —, ``aws:PrincipalAccount``,
    ``aws:PrincipalType``, ``aws:userid``, ``aws:username`` for users, ``aws:CurrentTime``,
    ``aws:EpochTime``) plus the caller's ``context`` (``aws:SourceArn``, ``aws:SourceIp``,
    ``aws:SecureTransport``, ``lambda:FunctionUrlAuthType``...), which wins on a clash.
    A list or tuple value is a multivalued key."""
    keys: dict[str, tuple[ContextScalar, ...]] = {
        "aws:currenttime": (datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),),
        "aws:epochtime": (int(now),),
    }
    if principal.kind == "anonymous":
        pass  # AWS sets no principal keys for an anonymous caller
    elif principal.kind != "service":
        keys["aws:principalarn"] = (principal.role_arn or principal.arn,)
        keys["aws:principalaccount"] = (principal.account,)
        keys["aws:principaltype"] = (_PRINCIPAL_TYPE[principal.kind],)
        keys["aws:userid"] = (principal.user_id,)
        if principal.kind == "user":
            keys["aws:username"] = (principal.name,)
    else:
        keys["aws:principalservicename"] = (principal.name,)
    for key, value in (context or {}).items():
        values = tuple(value) if isinstance(value, list | tuple | set | frozenset) else (value,)
        keys[key.lower()] = tuple(v for v in values if isinstance(v, ContextScalar))
    return Request(principal=principal, action=action, resource=resource, context=keys)


@dataclass(frozen=True, slots=True)
class Allow:
    via: Literal["root", "identity", "resource"]


@dataclass(frozen=True, slots=True)
class ExplicitDeny:
    sid: str  # the denying statement's Sid ("" when it has none)
    policy: PolicyType


@dataclass(frozen=True, slots=True)
class ImplicitDeny:
    missing: PolicyType  # the kind of policy that would have had to allow it


Decision = Allow | ExplicitDeny | ImplicitDeny


def _applies(statement: Statement, request: Request) -> bool:
    """Action, resource and conditions of ``statement`` match (principal aside)."""
    context = request.context
    if statement.actions.match(request.action, context) is statement.not_action:
        return False
    if statement.resources is not None:
        hit = any(r.match(request.resource, context) for r in statement.resources)
        if hit is statement.not_resource:
            return False
    return all_hold(statement.conditions, context) if statement.conditions else True


def _principal_reach(statement: Statement, principal: Principal) -> Literal["", "self", "account"]:
    """Whether a resource policy statement covers ``principal``: named ("self"), through its
    account only ("account"), or not at all ("")."""
    listed = statement.principals
    if listed is None:
        return ""
    if statement.not_principal:
        if principal.is_root:
            own = listed.names_account(principal)
        else:
            own = listed.names(principal) and not listed.anyone
        excluded = listed.anyone or (
            own and (principal.kind == "service" or listed.names_account(principal))
        )
        return "" if excluded else "self"
    if listed.names(principal):
        return "self"
    return "account" if listed.names_account(principal) else ""


def _identity_allows(policies: Sequence[Policy], request: Request) -> bool:
    return any(s.effect == "Allow" and _applies(s, request) for p in policies for s in p.statements)


def evaluate(
    request: Request,
    *,
    identity: Sequence[Policy],
    resource: Policy | None,
    same_account: bool,
    session: Sequence[Policy] | None = None,
) -> Decision:
    """AWS's decision for ``request`` (see the module's docstring). ``same_account``: the
    resource belongs to the principal's account. ``session``: the session policies of an
    assumed-role session, if it has any."""
    principal = request.principal
    if principal.is_root and same_account:
        return Allow(via="root")
    denying: tuple[tuple[PolicyType, Sequence[Policy]], ...] = (
        ("identity", identity),
        ("session", session or ()),
    )
    for kind, policies in denying:
        for policy in policies:
            for s in policy.statements:
                if s.effect == "Deny" and _applies(s, request):
                    return ExplicitDeny(sid=s.sid, policy=kind)
    resource_grant: Literal["", "self", "account"] = ""
    # A resource policy naming the session itself is not capped by session policies; one
    # naming its role is (AWS: "Session policies" in "Policy evaluation logic").
    names_session = False
    if resource is not None:
        for s in resource.statements:
            reach = _principal_reach(s, principal)
            if not reach or not _applies(s, request):
                continue
            if s.effect == "Deny":
                return ExplicitDeny(sid=s.sid, policy="resource")
            if reach == "self" or resource_grant == "":
                resource_grant = reach
            if reach == "self" and s.principals is not None and not s.not_principal:
                names_session = names_session or principal.arn in s.principals.arns
    if principal.kind in ("service", "anonymous"):
        # No identity policies: the resource policy alone decides.
        return Allow(via="resource") if resource_grant else ImplicitDeny(missing="resource")
    identity_grant = principal.is_root or _identity_allows(identity, request)
    if session is not None and not principal.is_root:
        session_grant = _identity_allows(session, request)
    else:
        session_grant = True
    if same_account:
        if resource_grant == "self" and (session_grant or names_session):
            return Allow(via="resource")
        if identity_grant and session_grant:
            return Allow(via="identity")
        if identity_grant or resource_grant == "self":
            return ImplicitDeny(missing="session")
        return ImplicitDeny(missing="identity")
    if not identity_grant:
        return ImplicitDeny(missing="identity")
    if not session_grant:
        return ImplicitDeny(missing="session")
    if not resource_grant:
        return ImplicitDeny(missing="resource")
    return Allow(via="identity")


_TYPE_WORDS = {
    "identity": "an identity-based",
    "resource": "a resource-based",
    "session": "a session",
}


def denial_message(decision: Decision, request: Request) -> str:
    """AWS's AccessDenied message ("User: ARN is not authorized to perform: ACTION on
    resource: ARN because no identity-based policy allows the ACTION action" / "... with an
    explicit deny in a resource-based policy"; IAM user guide, "Troubleshoot access denied
    error messages")."""
    head = f"User: {request.principal.arn} is not authorized to perform: {request.action}"
    if request.resource:
        head += f" on resource: {request.resource}"
    if isinstance(decision, ExplicitDeny):
        return f"{head} with an explicit deny in {_TYPE_WORDS[decision.policy]} policy"
    if isinstance(decision, ImplicitDeny):
        kind = _TYPE_WORDS[decision.missing].split(" ", 1)[1]
        return f"{head} because no {kind} policy allows the {request.action} action"
    raise ValueError("an Allow is not a denial")
