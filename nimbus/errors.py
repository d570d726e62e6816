"""One exception tree for everything a caller can get wrong or that can go wrong.

Each class carries the AWS error type and HTTP status it maps to; the frontend turns
them into wire format in exactly one place (``frontend/errors.py``).
"""

from __future__ import annotations


class NimbusError(Exception):
    """Base of every error Nimbus reports to a client."""

    error_type: str = "ServiceException"
    status: int = 500

    def __init__(self, message: str, **fields: object) -> None:
        super().__init__(message)
        self.message = message
        # Extra top-level fields AWS puts in the error body (e.g. Reason for throttles).
        self.fields = fields


def public_reason(exc: BaseException) -> str:
    """What a caller may be told of an unexpected failure (a StateReason, a StatusReason): a
    NimbusError's message, an OSError's strerror, otherwise the exception's type. Never the
    rest of an OSError's text or an arbitrary message: they name the server's paths (the
    data directory, extraction and cgroup directories), which AWS never shows a caller; the
    server's log has the whole error."""
    if isinstance(exc, NimbusError):
        return exc.message
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


class InvalidParameterValueError(NimbusError):
    error_type = "InvalidParameterValueException"
    status = 400


class InvalidRequestContentError(NimbusError):
    error_type = "InvalidRequestContentException"
    status = 400


class ValidationError(NimbusError):
    # botocore model-level validation failures (e.g. a name pattern) surface this way on AWS.
    error_type = "ValidationException"
    status = 400


class AccessDeniedError(NimbusError):
    error_type = "AccessDeniedException"
    status = 403


class ResourceNotFoundError(NimbusError):
    error_type = "ResourceNotFoundException"
    status = 404


class ResourceConflictError(NimbusError):
    error_type = "ResourceConflictException"
    status = 409


class PreconditionFailedError(NimbusError):
    error_type = "PreconditionFailedException"
    status = 412


class RequestTooLargeError(NimbusError):
    error_type = "RequestTooLargeException"
    status = 413


class TooManyRequestsError(NimbusError):
    error_type = "TooManyRequestsException"
    status = 429


class ServiceError(NimbusError):
    error_type = "ServiceException"
    status = 500


class ResourceNotReadyError(NimbusError):
    error_type = "ResourceNotReadyException"
    status = 502


class KMSAccessDeniedError(NimbusError):
    # Invoke when the function's environment variables cannot be decrypted (botocore: 502).
    error_type = "KMSAccessDeniedException"
    status = 502


class ProvisionedConcurrencyConfigNotFoundError(NimbusError):
    error_type = "ProvisionedConcurrencyConfigNotFoundException"
    status = 404


class RequestEntityTooLargeError(NimbusError):
    # What AWS answers for a CreateFunction/UpdateFunctionCode body over the upload limit.
    error_type = "RequestEntityTooLargeException"
    status = 413


class CodeSigningConfigNotFoundError(NimbusError):
    # A CodeSigningConfigArn given to CreateFunction/PutFunctionCodeSigningConfig that does
    # not exist (Get/Update/DeleteCodeSigningConfig answer ResourceNotFoundException instead).
    error_type = "CodeSigningConfigNotFoundException"
    status = 404


class CodeVerificationFailedError(NimbusError):
    # Code unsigned or signed by a profile the function's config does not allow, in Enforce.
    error_type = "CodeVerificationFailedException"
    status = 400


class InvalidCodeSignatureError(NimbusError):
    # A signature that fails the integrity check: blocked even in Warn, as on AWS.
    error_type = "InvalidCodeSignatureException"
    status = 400


class PolicyLengthExceededError(NimbusError):
    # A function's resource-based policy over 20 KB (AddPermission, PutResourcePolicy).
    error_type = "PolicyLengthExceededException"
    status = 400


class RecursiveInvocationError(NimbusError):
    # Invoke of a function whose recursive loop detection stopped the call (17th hop).
    error_type = "RecursiveInvocationException"
    status = 400


# --- API Gateway (apigatewayv2, restJson: {"message": ...} and x-amzn-ErrorType) ----------


class ApiNotFoundError(NimbusError):
    # botocore's apigatewayv2 NotFoundException (404), with the resource type it names.
    error_type = "NotFoundException"
    status = 404


class BadRequestError(NimbusError):
    error_type = "BadRequestException"
    status = 400


class ConflictError(NimbusError):
    error_type = "ConflictException"
    status = 409


# --- Built-in queues (SQS) and topics (SNS) ----------------------------------------------
# Their wire protocols (SQS JSON with x-amzn-query-error, SQS/SNS query XML) also carry the
# legacy query error code, so each class names both.


class QueryProtocolError(NimbusError):
    """An SQS/SNS error: ``error_type`` is the modelled shape name, ``query_code`` the code
    the query protocol (and SQS's x-amzn-query-error header) reports."""

    status = 400
    query_code: str = "InvalidParameterValue"
    sender_fault: bool = True


class SqsInvalidParameterError(QueryProtocolError):
    error_type = "InvalidParameterValue"
    query_code = "InvalidParameterValue"


class SqsMissingParameterError(QueryProtocolError):
    error_type = "MissingParameter"
    query_code = "MissingParameter"


class InvalidActionError(QueryProtocolError):
    error_type = "InvalidAction"
    query_code = "InvalidAction"


class QueueDoesNotExistError(QueryProtocolError):
    error_type = "QueueDoesNotExist"
    query_code = "AWS.SimpleQueueService.NonExistentQueue"


class QueueNameExistsError(QueryProtocolError):
    error_type = "QueueNameExists"
    query_code = "QueueAlreadyExists"


class ReceiptHandleIsInvalidError(QueryProtocolError):
    error_type = "ReceiptHandleIsInvalid"
    query_code = "ReceiptHandleIsInvalid"


class MessageNotInflightError(QueryProtocolError):
    error_type = "MessageNotInflight"
    query_code = "AWS.SimpleQueueService.MessageNotInflight"


class InvalidAttributeNameError(QueryProtocolError):
    error_type = "InvalidAttributeName"
    query_code = "InvalidAttributeName"


class InvalidAttributeValueError(QueryProtocolError):
    error_type = "InvalidAttributeValue"
    query_code = "InvalidAttributeValue"


class EmptyBatchRequestError(QueryProtocolError):
    error_type = "EmptyBatchRequest"
    query_code = "AWS.SimpleQueueService.EmptyBatchRequest"


class TooManyEntriesInBatchRequestError(QueryProtocolError):
    error_type = "TooManyEntriesInBatchRequest"
    query_code = "AWS.SimpleQueueService.TooManyEntriesInBatchRequest"


class BatchEntryIdsNotDistinctError(QueryProtocolError):
    error_type = "BatchEntryIdsNotDistinct"
    query_code = "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"


class InvalidBatchEntryIdError(QueryProtocolError):
    error_type = "InvalidBatchEntryId"
    query_code = "AWS.SimpleQueueService.InvalidBatchEntryId"


class TopicNotFoundError(QueryProtocolError):
    error_type = "NotFound"
    query_code = "NotFound"
    status = 404


class SnsInvalidParameterError(QueryProtocolError):
    error_type = "InvalidParameter"
    query_code = "InvalidParameter"


# --- EventBridge (JSON 1.1: {"__type", "message"}) -----------------------------------------
# EventBridge answers every client error with HTTP 400, ResourceNotFoundException included
# (LocalStack's AWS-validated snapshots of DescribeEventBus, DescribeRule).


class EventsValidationError(NimbusError):
    error_type = "ValidationException"
    status = 400


class EventsResourceNotFoundError(NimbusError):
    error_type = "ResourceNotFoundException"
    status = 400


class ResourceAlreadyExistsError(NimbusError):
    error_type = "ResourceAlreadyExistsException"
    status = 400


class InvalidEventPatternError(NimbusError):
    error_type = "InvalidEventPatternException"
    status = 400


class LimitExceededError(NimbusError):
    error_type = "LimitExceededException"
    status = 400


class EventsAccessDeniedError(NimbusError):
    error_type = "AccessDeniedException"
    status = 400


class UnknownOperationError(NimbusError):
    # An X-Amz-Target the JSON protocol's service does not have.
    error_type = "UnknownOperationException"
    status = 400


class SerializationError(NimbusError):
    # A JSON 1.1 body that is not a JSON object, or a member of the wrong type.
    error_type = "SerializationException"
    status = 400
