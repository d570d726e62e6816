"""Which IAM action on which resource each request asks for (pure): what the gate
(``auth_gate``) authorizes by, and the one way in to it.

Lambda's REST routes (and Nimbus's own) are in ``lambda_routes``, ``POST /``'s SQS, SNS, IAM
and STS operations in ``root_actions``, API Gateway's ``/v2/...`` in ``apigateway_routes``;
each resolves to an ``operation.Operation``, in the canonical spelling of its resource (so a
Deny on one spelling is not passed by another).
A request neither knows has no action: the gate answers it as unknown, never lets it
through.
"""

from __future__ import annotations

from nimbus.frontend.apigateway_routes import is_apigateway, resolve_apigateway
from nimbus.frontend.lambda_routes import (
    MAX_CODE_REQUEST,
    MAX_REQUEST,
    body_bound,
    function_arn,
    lambda_arn,
    resolve_route,
)
from nimbus.frontend.lambda_routes import needs_body as lambda_needs_body
from nimbus.frontend.operation import ANY, Operation, OperationRequest
from nimbus.frontend.root_actions import (
    SNS_ACTIONS,
    STS_ACTIONS,
    query_service,
    resolve_root,
)
from nimbus.frontend.scheduler_routes import is_scheduler, resolve_scheduler
from nimbus.frontend.scheduler_routes import needs_body as scheduler_needs_body
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
    "is_scheduler",
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
    if is_apigateway(request.path):
        return resolve_apigateway(request, arns)
    if is_scheduler(request.path):
        return resolve_scheduler(request, arns)
    return resolve_route(request, arns)


def needs_body(method: str, path: str) -> bool:
    """Whether the operation's resource or condition keys are in its JSON body (so the gate
    parses it before authorizing): Lambda's few, Scheduler's Create/UpdateSchedule (the
    schedule's group), and ``POST /`` always."""
    return lambda_needs_body(method, path) or scheduler_needs_body(method, path)
