"""What the gate answers a request it refuses, in the spelling of the request's API: a denial
(AccessDenied in Lambda's, the query protocols' and SNS's words) and an operation it has no
action for."""

from __future__ import annotations

from starlette.exceptions import HTTPException

from nimbus.errors import (
    AccessDeniedError,
    EventsAccessDeniedError,
    InvalidActionError,
    QueryProtocolError,
    UnknownOperationError,
)
from nimbus.frontend.operation import Operation


class SnsAuthorizationError(QueryProtocolError):
    # SNS's name for a denial (botocore's sns model: AuthorizationErrorException, code
    # AuthorizationError, 403).
    error_type = "AuthorizationErrorException"
    query_code = "AuthorizationError"
    status = 403


class QueryAccessDeniedError(QueryProtocolError):
    # IAM's, STS's and SQS's: code AccessDenied, 403.
    error_type = "AccessDeniedException"
    query_code = "AccessDenied"
    status = 403


def unknown_operation(operation: Operation) -> Exception:
    """What a request the gate has no action for is answered: the router's 404
    UnknownOperationException for a path Nimbus does not serve, InvalidAction for ``POST /``
    (an Action no API has, or none), UnknownOperationException for an X-Amz-Target EventBridge
    does not have."""
    if operation.service == "events":
        return UnknownOperationError(
            f"Operation AWSEvents.{operation.name or '(none)'} is not supported by Nimbus's "
            "EventBridge."
        )
    if operation.service in ("sqs", "sns", "iam", "sts"):
        return InvalidActionError(
            f"The action {operation.name or '(none)'} is not valid for this endpoint."
        )
    return HTTPException(404)


def denial(operation: Operation, message: str) -> Exception:
    """AccessDenied in the operation's API's spelling."""
    if operation.service == "sns":
        return SnsAuthorizationError(message)
    if operation.service == "events":
        return EventsAccessDeniedError(message)  # EventBridge's: HTTP 400
    if operation.service in ("sqs", "iam", "sts"):
        return QueryAccessDeniedError(message)
    return AccessDeniedError(message)
