"""A policy document, parsed and validated as IAM does: pure.

AWS's rules (IAM user guide, "IAM JSON policy elements reference", "AWS JSON policy elements:
Principal"): a document is ``{"Version", "Id"?, "Statement"}``; ``Version`` is ``2012-10-17``
or ``2008-10-17`` (absent means 2008-10-17, where ``${...}`` is literal text); ``Statement``
is one object or a list. A statement has ``Effect`` (``Allow``/``Deny``, case-sensitive),
exactly one of ``Action``/``NotAction`` (``vendor:Name``), ``Resource``/``NotResource`` (an ARN
or ``*``; required in identity policies, optional in resource policies, prohibited in role
trust policies), ``Principal``/``NotPrincipal`` (required in resource and trust policies,
refused in identity policies; ``"*"`` or ``{"AWS" | "Service" | "Federated" |
"CanonicalUser": value | [values]}``, no partial wildcards), a ``Sid`` unique in the policy and
a ``Condition`` (``conditions.py``). Errors carry IAM's own messages ("Syntax errors in
policy.", "Policy document should not specify a principal.", ...); where IAM's is only
"Syntax errors in policy." a second sentence says what to fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from nimbus.auth.conditions import (
    LEGACY,
    Clause,
    MalformedPolicyError,
    parse_conditions,
    syntax_error,
)
from nimbus.auth.principal import Principal
from nimbus.auth.wildcards import Context, Template

PolicyKind = Literal["identity", "resource", "trust"]

VERSIONS = ("2012-10-17", "2008-10-17")
VERSION_2012_REQUIRED = "Policy document must be version 2012-10-17 or greater."
NO_PRINCIPAL_ALLOWED = "Policy document should not specify a principal."
PRINCIPAL_REQUIRED = "Missing required field Principal."
NO_ACTIONS = "Policy statement must contain actions."
NO_RESOURCES = "Policy statement must contain resources."
RESOURCE_PROHIBITED = "Has prohibited field Resource."
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
NO_VENDOR = "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc."
ONE_COLON = "Actions/Condition can contain only one colon."

_TOP = frozenset({"Version", "Id", "Statement"})
_ELEMENTS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Principal",
        "NotPrincipal",
        "Condition",
    }
)
_PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_ACCOUNT = re.compile(r"\d{12}")
_PRINCIPAL_ARN = re.compile(
    r"arn:aws[a-z-]*:(iam::\d{12}:(root|user/.+|role/.+|federated-user/.+)"
    r"|sts::\d{12}:(assumed-role/.+/.+|federated-user/.+))"
)
_VENDOR = re.compile(r"[a-zA-Z0-9\-.]+|\*")


# ---------------------------------------------------------------------------------------------
# The parsed document


@dataclass(frozen=True, slots=True)
class Actions:
    """Action patterns, lower-cased: exact names in a set, wildcard ones as templates."""

    exact: frozenset[str]
    patterns: tuple[Template, ...]
    anything: bool

    def match(self, action: str, context: Context) -> bool:
        if self.anything:
            return True
        action = action.lower()
        return action in self.exact or any(p.match(action, context) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class Principals:
    anyone: bool
    accounts: frozenset[str]
    arns: frozenset[str]
    services: frozenset[str]  # lower-cased
    federated: frozenset[str]

    def names(self, principal: Principal) -> bool:
        """Whether this list names ``principal`` itself (not merely its account)."""
        if self.anyone:
            return True
        if principal.kind == "service":
            return principal.name.lower() in self.services or principal.arn.lower() in (
                self.services
            )
        if principal.arn in self.arns:
            return True
        return principal.kind == "assumed-role" and principal.role_arn in self.arns

    def names_account(self, principal: Principal) -> bool:
        return principal.kind != "service" and principal.account in self.accounts


@dataclass(frozen=True, slots=True)
class Statement:
    sid: str
    effect: Literal["Allow", "Deny"]
    actions: Actions
    not_action: bool
    resources: tuple[Template, ...] | None  # None: the resource the policy is attached to
    not_resource: bool
    principals: Principals | None
    not_principal: bool
    conditions: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class Policy:
    kind: PolicyKind
    version: str  # "" when the document has none (IAM reads it as 2008-10-17)
    id: str
    statements: tuple[Statement, ...]


def _strings(statement: Mapping[str, object], element: str) -> list[str] | None:
    if element not in statement:
        return None
    raw = statement[element]
    items = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(i, str) for i in items):
        raise syntax_error(f"{element} must be a string or a list of strings.")
    return [str(i) for i in items]


def _actions(patterns: list[str], variables: bool) -> Actions:
    exact: set[str] = set()
    wild: list[Template] = []
    for action in patterns:
        if action == "*":
            return Actions(frozenset(), (), anything=True)
        vendor, colon, rest = action.partition(":")
        if not colon:
            raise MalformedPolicyError(NO_VENDOR)
        if ":" in rest:
            raise MalformedPolicyError(ONE_COLON)
        if not _VENDOR.fullmatch(vendor):
            raise MalformedPolicyError(f"Vendor {vendor} is not valid")
        lowered = action.lower()
        if "*" in lowered or "?" in lowered:
            wild.append(Template.of(lowered, arn=False, wildcards=True, variables=False))
        else:
            exact.add(lowered)
    return Actions(frozenset(exact), tuple(wild), anything=False)


def _resources(patterns: list[str], variables: bool) -> tuple[Template, ...]:
    out: list[Template] = []
    for resource in patterns:
        if resource != "*" and not resource.startswith("arn:"):
            raise MalformedPolicyError(f'Resource {resource} must be in ARN format or "*".')
        if resource != "*" and resource.count(":") < 2:
            raise MalformedPolicyError(LEGACY)
        out.append(Template.of(resource, arn=True, wildcards=True, variables=variables))
    return tuple(out)


def _invalid_principal(kind: str, value: object) -> MalformedPolicyError:
    return MalformedPolicyError(f"Invalid principal in policy: {json.dumps({kind: value})[1:-1]}")


def _principals(raw: object) -> Principals:
    if raw == "*":
        return Principals(True, frozenset(), frozenset(), frozenset(), frozenset())
    if not isinstance(raw, dict) or not raw:
        raise syntax_error('Principal must be "*" or an object such as {"AWS": "<account id>"}.')
    anyone = False
    accounts: set[str] = set()
    arns: set[str] = set()
    services: set[str] = set()
    federated: set[str] = set()
    for kind, value in raw.items():
        if kind not in _PRINCIPAL_TYPES:
            raise _invalid_principal(kind, value)
        items = value if isinstance(value, list) else [value]
        if not items or not all(isinstance(i, str) and i for i in items):
            raise _invalid_principal(kind, value)
        for item in items:
            if kind == "AWS":
                if item == "*":
                    anyone = True
                elif _ACCOUNT.fullmatch(item):
                    accounts.add(item)
                elif _PRINCIPAL_ARN.fullmatch(item) and "*" not in item and "?" not in item:
                    # An account's root ARN is the account, as a bare id is.
                    if item.endswith(":root"):
                        accounts.add(item.split(":")[4])
                    else:
                        arns.add(item)
                else:
                    raise _invalid_principal(kind, item)
            elif kind == "Service":
                if "*" in item and item != "*":
                    raise _invalid_principal(kind, item)
                services.add(item.lower())
            else:
                federated.add(item)
    return Principals(
        anyone, frozenset(accounts), frozenset(arns), frozenset(services), frozenset(federated)
    )


def _statement(raw: object, kind: PolicyKind, variables: bool) -> Statement:
    if not isinstance(raw, dict):
        raise syntax_error("Each statement must be an object.")
    unknown = sorted(set(raw) - _ELEMENTS)
    if unknown:
        raise syntax_error(f"Unknown statement element {unknown[0]!r}.")
    for one, other in (("Action", "NotAction"), ("Resource", "NotResource")):
        if one in raw and other in raw:
            raise syntax_error(f"A statement has {one} or {other}, not both.")
    if "Principal" in raw and "NotPrincipal" in raw:
        raise syntax_error("A statement has Principal or NotPrincipal, not both.")
    effect = raw.get("Effect")
    if not isinstance(effect, str) or effect.lower() not in ("allow", "deny"):
        raise syntax_error('Effect must be "Allow" or "Deny".')
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicyError(LEGACY)  # IAM: the case of Effect matters
    sid = raw.get("Sid", "")
    if not isinstance(sid, str):
        raise syntax_error("Sid must be a string.")

    has_principal = "Principal" in raw or "NotPrincipal" in raw
    if kind == "identity" and has_principal:
        raise MalformedPolicyError(NO_PRINCIPAL_ALLOWED)
    actions = _strings(raw, "Action")
    not_actions = _strings(raw, "NotAction")
    resources = _strings(raw, "Resource")
    not_resources = _strings(raw, "NotResource")
    if not (actions or not_actions):
        raise MalformedPolicyError(NO_ACTIONS)
    if kind == "identity" and not (resources or not_resources):
        raise MalformedPolicyError(NO_RESOURCES)
    if kind == "trust" and (resources is not None or not_resources is not None):
        raise MalformedPolicyError(RESOURCE_PROHIBITED)
    if kind != "identity" and not has_principal:
        raise MalformedPolicyError(PRINCIPAL_REQUIRED)
    if kind != "identity" and (resources == [] or not_resources == []):
        raise MalformedPolicyError(NO_RESOURCES)

    resource_patterns = resources if resources is not None else not_resources
    principal_raw = raw.get("Principal", raw.get("NotPrincipal"))
    return Statement(
        sid=sid,
        effect="Allow" if effect == "Allow" else "Deny",
        actions=_actions(actions or not_actions or [], variables),
        not_action=actions is None,
        resources=None if resource_patterns is None else _resources(resource_patterns, variables),
        not_resource=not_resources is not None,
        principals=None if principal_raw is None else _principals(principal_raw),
        not_principal="NotPrincipal" in raw,
        conditions=parse_conditions(raw["Condition"], variables=variables)
        if "Condition" in raw
        else (),
    )


def parse_policy(
    document: str | Mapping[str, object],
    kind: PolicyKind = "identity",
    *,
    require_version_2012: bool = False,
) -> Policy:
    """The parsed policy, or MalformedPolicyError with IAM's message.
    ``require_version_2012``: IAM's managed policies (CreatePolicy) refuse anything older."""
    if isinstance(document, str):
        try:
            loaded = json.loads(document)
        except ValueError:
            raise syntax_error("The document is not valid JSON.") from None
    else:
        loaded = document
    if not isinstance(loaded, Mapping):
        raise syntax_error("A policy is a JSON object.")
    unknown = sorted(set(loaded) - _TOP)
    if unknown:
        raise syntax_error(f"Unknown top-level element {unknown[0]!r}.")
    version = loaded.get("Version", "")
    if version != "" and version not in VERSIONS:
        raise syntax_error('Version must be "2012-10-17" or "2008-10-17".')
    if require_version_2012 and version != "2012-10-17":
        raise MalformedPolicyError(VERSION_2012_REQUIRED)
    policy_id = loaded.get("Id", "")
    if not isinstance(policy_id, str):
        raise syntax_error("Id must be a string.")
    raw = loaded.get("Statement")
    items = [raw] if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise syntax_error("Statement must be an object or a non-empty list of them.")
    variables = version == "2012-10-17"
    statements = tuple(_statement(item, kind, variables) for item in items)
    sids = [s.sid for s in statements if s.sid]
    if len(sids) != len(set(sids)):
        raise MalformedPolicyError(DUPLICATE_SID)
    return Policy(kind=kind, version=str(version), id=policy_id, statements=statements)
