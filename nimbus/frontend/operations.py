"""Which IAM action on which resource each request asks for (pure): what the gate
(``auth_gate``) authorizes by, and the one way in to it.

Lambda's REST routes (and Nimbus's own) are in ``lambda_routes``, ``POST /``'s SQS, SNS, IAM
and STS operations in ``root_actions``; both resolve to an ``operation.Operation``, in the
canonical spelling of its resource (so a Deny on one spelling is not passed by another).
A request neither knows has no action: the gate answers it as unknown, never lets it
through.
"""

from __future__ import annotations

from nimbus.frontend.lambda_routes import (
    MAX_CODE_REQUEST,
    MAX_REQUEST,
    body_bound,
    function_arn,
    lambda_arn,
    needs_body,
    resolve_route,
)
from nimbus.frontend.operation import ANY, Operation, OperationRequest
from nimbus.frontend.root_actions import (
    SNS_ACTIONS,
    STS_ACTIONS,
    query_service,
    resolve_root,
)
from nimbus.model.arn import Arns

__all__ = [
    "ANY",
    "MAX_CODE_REQUEST",
    "MAX_REQUEST",
    "SNS_ACTIONS",
    "STS_ACTIONS",
    "Operation",
    "OperationRequest",
    "body_bound",
    "function_arn",
    "lambda_arn",
    "needs_body",
    "query_service",
    "resolve",
]


def resolve(request: OperationRequest, arns: Arns) -> Operation:
    """The operation ``request`` asks for (never raises: what a handler will refuse as
    malformed still gets an ARN to be authorized on)."""
    if request.path == "/" and request.method == "POST":
        return resolve_root(request, arns)
    return resolve_route(request, arns)
