"""What one request asks to do, as IAM authorizes it: the value ``lambda_routes`` and
``root_actions`` resolve a request to, and the gate (``auth_gate``) authorizes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

ANY: Final = "*"


@dataclass(frozen=True, kw_only=True)
class Operation:
    """What one request asks to do, as IAM authorizes it."""

    service: str  # the API: lambda, sqs, sns, iam, sts, logs, nimbus ("" for unknown routes)
    name: str  # the API operation ("GetFunction"); "" for a route Nimbus does not know
    # The IAM action ("lambda:GetFunction"); None when the gate authorizes nothing (unknown
    # routes, GetCallerIdentity, AssumeRole — STS decides by the role's trust policy).
    action: str | None
    resource: str = ANY
    context: Mapping[str, str] = field(default_factory=dict)  # condition keys the request sets


@dataclass(frozen=True, kw_only=True)
class OperationRequest:
    """The parts of a request that name its operation."""

    method: str
    path: str  # decoded, as ASGI's scope["path"]
    # Each parameter's *last* value, as handlers read ``request.query_params``
    # (``params.query_values``).
    query: Mapping[str, str] = field(default_factory=dict)
    target: str = ""  # X-Amz-Target
    service: str = ""  # the signed service name (credential scope), for POST /
    # The parsed body: a JSON object (SQS, and the Lambda operations ``needs_body`` names) or
    # the query form with the query string's parameters (SNS, IAM, STS).
    params: Mapping[str, Any] = field(default_factory=dict)
    caller: str = ""  # the principal's ARN: IAM operations without UserName act on the caller
