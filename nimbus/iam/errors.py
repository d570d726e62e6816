"""IAM's and STS's errors, as botocore's models name them (``iam/2010-05-08``,
``sts/2011-06-15``): the query protocol's code, the HTTP status, the sender fault."""

from __future__ import annotations

from nimbus.errors import QueryProtocolError


class NoSuchEntityError(QueryProtocolError):
    error_type = "NoSuchEntityException"
    query_code = "NoSuchEntity"
    status = 404


class EntityAlreadyExistsError(QueryProtocolError):
    error_type = "EntityAlreadyExistsException"
    query_code = "EntityAlreadyExists"
    status = 409


class DeleteConflictError(QueryProtocolError):
    error_type = "DeleteConflictException"
    query_code = "DeleteConflict"
    status = 409


class LimitExceededError(QueryProtocolError):
    error_type = "LimitExceededException"
    query_code = "LimitExceeded"
    status = 409


class MalformedPolicyDocumentError(QueryProtocolError):
    error_type = "MalformedPolicyDocumentException"
    query_code = "MalformedPolicyDocument"
    status = 400


class InvalidInputError(QueryProtocolError):
    error_type = "InvalidInputException"
    query_code = "InvalidInput"
    status = 400


class PolicyNotAttachableError(QueryProtocolError):
    error_type = "PolicyNotAttachableException"
    query_code = "PolicyNotAttachable"
    status = 400


class IamValidationError(QueryProtocolError):
    # Not in the models' shapes: the query protocol's generic input validation failure,
    # "1 validation error detected: Value ... failed to satisfy constraint: ...".
    error_type = "ValidationError"
    query_code = "ValidationError"
    status = 400


class MissingParameterError(QueryProtocolError):
    error_type = "MissingParameter"
    query_code = "MissingParameter"
    status = 400


class IamAccessDeniedError(QueryProtocolError):
    # IAM's refusal decided inside an operation (GetAccessKeyLastUsed on another's key):
    # code AccessDenied, 403, as the gate's own.
    error_type = "AccessDeniedException"
    query_code = "AccessDenied"
    status = 403


class StsAccessDeniedError(QueryProtocolError):
    # STS's AssumeRole refusal: code AccessDenied, 403 ("User: ... is not authorized to
    # perform: sts:AssumeRole on resource: ...").
    error_type = "AccessDenied"
    query_code = "AccessDenied"
    status = 403


class PackedPolicyTooLargeError(QueryProtocolError):
    error_type = "PackedPolicyTooLargeException"
    query_code = "PackedPolicyTooLarge"
    status = 400
