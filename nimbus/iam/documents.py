"""Policy documents as IAM accepts them: JSON text checked by the one policy parser
(``nimbus.auth.policy.parse_policy``) before anything is stored, refused with IAM's
``MalformedPolicyDocument`` and the parser's message."""

from __future__ import annotations

from typing import Any

import orjson

from nimbus.auth.policy import MalformedPolicyError, Policy, PolicyKind, parse_policy
from nimbus.iam.errors import LimitExceededError, MalformedPolicyDocumentError


def parse(text: str) -> dict[str, Any]:
    """The document as JSON (IAM: "This policy contains invalid Json")."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise MalformedPolicyDocumentError("This policy contains invalid Json") from exc
    if not isinstance(value, dict):
        raise MalformedPolicyDocumentError("This policy contains invalid Json")
    return value


def validate(text: str, kind: PolicyKind, *, managed: bool = False) -> Policy:
    """``text`` parsed as a policy of ``kind``, or IAM's MalformedPolicyDocument.
    ``managed``: a managed policy, which IAM refuses unless its Version is 2012-10-17."""
    parse(text)
    try:
        return parse_policy(text, kind, require_version_2012=managed)
    except MalformedPolicyError as exc:
        raise MalformedPolicyDocumentError(str(exc) or "Syntax errors in policy.") from exc


def size(text: str) -> int:
    """A document's size as IAM counts it against its quotas: white space does not count."""
    return sum(1 for ch in text if not ch.isspace())


def check_size(text: str, limit: int, what: str) -> None:
    if size(text) > limit:
        raise LimitExceededError(f"Cannot exceed quota for {what}: {limit}")
