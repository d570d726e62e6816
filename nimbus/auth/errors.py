"""Authentication errors, as AWS answers a request whose signature it cannot accept.

Each class names both wire spellings: ``error_type`` for restJson (Lambda's
``X-Amzn-ErrorType``) and ``query_code`` for the query protocols and SQS's
``x-amzn-query-error`` (IAM, STS, SNS and SQS say ``InvalidClientTokenId`` where Lambda says
``UnrecognizedClientException``). All are 403, as on AWS. Messages never hold a secret: not the
secret key, not the session token, not the Authorization header (it may be a Basic password).

Authorization failures are the gate's: note that SNS's query code for them is
``AuthorizationError``, SQS's ``AccessDenied`` and Lambda's ``AccessDeniedException``.
"""

from __future__ import annotations

from nimbus.errors import QueryProtocolError

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details."
)


class AuthenticationError(QueryProtocolError):
    """Base of every authentication failure (never raised itself)."""

    status = 403
    sender_fault = True


# The query protocols' words for it (STS, IAM: <Code>MissingAuthenticationToken</Code>
# <Message>Request is missing Authentication Token</Message>).
QUERY_MISSING_TOKEN = "Request is missing Authentication Token"


class MissingAuthenticationTokenError(AuthenticationError):
    # What Lambda (and API Gateway) answer a request with neither an Authorization header nor
    # a presigned query string: {"message":"Missing Authentication Token"}; the query
    # protocols say ``QUERY_MISSING_TOKEN``.
    error_type = "MissingAuthenticationTokenException"
    query_code = "MissingAuthenticationToken"

    def __init__(self, message: str = "Missing Authentication Token") -> None:
        super().__init__(message)


class IncompleteSignatureError(AuthenticationError):
    # A malformed Authorization header or presigned query string ("Authorization header
    # requires 'Credential' parameter. ...").
    error_type = "IncompleteSignatureException"
    query_code = "IncompleteSignature"


class UnrecognizedClientError(AuthenticationError):
    # An access key id Nimbus does not know (or inactive, or a temporary key whose session
    # token does not belong to it).
    error_type = "UnrecognizedClientException"
    query_code = "InvalidClientTokenId"

    def __init__(
        self, message: str = "The security token included in the request is invalid."
    ) -> None:
        super().__init__(message)


class InvalidSignatureError(AuthenticationError):
    # A signature that does not verify; AWS also reports an out-of-window date and a wrong
    # credential scope with this type ("Signature expired: ...", "Credential should be scoped
    # to a valid region, not 'x'. "), so those are subclasses.
    error_type = "InvalidSignatureException"
    query_code = "SignatureDoesNotMatch"

    def __init__(self, message: str = SIGNATURE_MISMATCH) -> None:
        super().__init__(message)


class SignatureExpiredError(InvalidSignatureError):
    """X-Amz-Date more than 5 minutes old, or a presigned URL past its X-Amz-Expires."""


class SignatureNotYetCurrentError(InvalidSignatureError):
    """X-Amz-Date more than 5 minutes in the future."""


class CredentialScopeError(InvalidSignatureError):
    """The credential scope names another date, region or service, or a bad terminator."""


class PayloadHashMismatchError(InvalidSignatureError):
    """X-Amz-Content-SHA256 says one body, the request carries another."""


class ExpiredTokenError(AuthenticationError):
    # A temporary key (ASIA...) past its expiry: the CredentialSource raises it.
    error_type = "ExpiredTokenException"
    query_code = "ExpiredToken"

    def __init__(
        self, message: str = "The security token included in the request is expired"
    ) -> None:
        super().__init__(message)
