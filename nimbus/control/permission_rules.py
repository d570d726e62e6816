"""Pure rules of a Lambda function's resource-based policy: AddPermission's input checked as
AWS checks it, the statement AWS writes for it, and the document it lives in.

The statement is the JSON AWS returns from AddPermission (``aws lambda add-permission``'s
documented output, and LocalStack's AWS-validated ``test_lambda_permission_*`` snapshots):

    {"Sid": "sns", "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
     "Action": "lambda:InvokeFunction", "Resource": "arn:aws:lambda:...:function:f",
     "Condition": {"ArnLike": {"AWS:SourceArn": "arn:aws:sns:..."}}}
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from nimbus.errors import (
    InvalidParameterValueError,
    PolicyLengthExceededError,
    ResourceConflictError,
    ResourceNotFoundError,
    ValidationError,
)

# AWS's quota: "Function resource-based policy: 20 KB" (Lambda quotas); botocore's
# ResourcePolicy shape has max 20480 too.
MAX_POLICY_BYTES = 20_480
POLICY_VERSION = "2012-10-17"
LATEST = "$LATEST"

_STATEMENT_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,100}$")
# RemovePermission's NamespacedStatementId also allows dots.
_REMOVE_STATEMENT_ID_RE = re.compile(r"^[a-zA-Z0-9_.-]{1,100}$")
_ACTION_RE = re.compile(r"^(lambda:[*]|lambda:[a-zA-Z]+|[*])$")
_SOURCE_ARN_RE = re.compile(
    r"^arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?-[a-z]+-\d{1})?"
    r":(\d{12})?:(.*)$"
)
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_ORG_RE = re.compile(r"^o-[a-z0-9]{10,32}$")
_TOKEN_RE = re.compile(r"^[a-zA-Z0-9._\-]{0,256}$")
_QUALIFIER_RE = re.compile(r"^(\$LATEST|[a-zA-Z0-9_-]{1,128})$")
_SERVICE_RE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.(amazonaws\.com(\.cn)?|amazon\.com)$")
_IAM_ARN_RE = re.compile(r"^arn:aws[a-zA-Z-]*:(iam|sts)::\d{12}:\S+$")
AUTH_TYPES = ("NONE", "AWS_IAM")


def _pattern_error(value: object, field: str, pattern: str) -> str:
    return (
        f"Value '{value}' at '{field}' failed to satisfy constraint: Member must satisfy "
        f"regular expression pattern: {pattern}"
    )


def _raise_problems(problems: list[str]) -> None:
    if problems:
        count = len(problems)
        raise ValidationError(
            f"{count} validation error{'s' if count > 1 else ''} detected: {'; '.join(problems)}"
        )


def add_qualifier(qualifier: str | None) -> str:
    """The qualifier AddPermission writes to: "" for the function itself. AWS refuses
    ``$LATEST`` ("We currently do not support adding policies for $LATEST.")."""
    if qualifier is None or qualifier == "":
        return ""
    if not _QUALIFIER_RE.fullmatch(qualifier):
        _raise_problems([_pattern_error(qualifier, "qualifier", "(|[a-zA-Z0-9$_-]+)")])
    if qualifier == LATEST:
        raise InvalidParameterValueError("We currently do not support adding policies for $LATEST.")
    return qualifier


def read_qualifier(qualifier: str | None) -> str:
    """The qualifier a read or removal names: ``$LATEST`` and none both mean the function's
    own policy (an unqualified permission covers ``:$LATEST``, as on AWS)."""
    if qualifier is None or qualifier in ("", LATEST):
        return ""
    if not _QUALIFIER_RE.fullmatch(qualifier):
        _raise_problems([_pattern_error(qualifier, "qualifier", "(|[a-zA-Z0-9$_-]+)")])
    return qualifier


def removal_sid(sid: str) -> str:
    if not _REMOVE_STATEMENT_ID_RE.fullmatch(sid):
        _raise_problems([_pattern_error(sid, "statementId", "([a-zA-Z0-9-_.]+)")])
    return sid


def principal_element(principal: str) -> str | dict[str, str]:
    """How AWS writes a Principal parameter into the statement: a service principal as
    ``{"Service": ...}``, an account id as its root ARN, an IAM/STS ARN as ``{"AWS": arn}``,
    ``*`` as is. Anything else: AWS's InvalidParameterValueException."""
    if principal == "*":
        return "*"
    if _ACCOUNT_RE.fullmatch(principal):
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if _IAM_ARN_RE.fullmatch(principal):
        return {"AWS": principal}
    if _SERVICE_RE.fullmatch(principal):
        return {"Service": principal}
    raise InvalidParameterValueError(
        "The provided principal was invalid. Please check the principal and try again."
    )


def statement(body: Mapping[str, Any], resource: str) -> dict[str, Any]:
    """The statement an AddPermission request body asks for, on ``resource`` (the function's
    ARN, qualified when a Qualifier was given). Raises ValidationException for values outside
    botocore's patterns, InvalidParameterValueException for a principal AWS does not take."""
    sid, action, principal = body.get("StatementId"), body.get("Action"), body.get("Principal")
    source_arn, source_account = body.get("SourceArn"), body.get("SourceAccount")
    org_id, token = body.get("PrincipalOrgID"), body.get("EventSourceToken")
    auth_type, via_url = body.get("FunctionUrlAuthType"), body.get("InvokedViaFunctionUrl")
    problems: list[str] = []
    if not isinstance(sid, str) or not _STATEMENT_ID_RE.fullmatch(sid):
        problems.append(_pattern_error(sid, "statementId", "([a-zA-Z0-9-_]+)"))
    if not isinstance(action, str) or not _ACTION_RE.fullmatch(action):
        problems.append(_pattern_error(action, "action", "(lambda:[*]|lambda:[a-zA-Z]+|[*])"))
    if not isinstance(principal, str) or not principal or any(c.isspace() for c in principal):
        problems.append(_pattern_error(principal, "principal", "[^\\s]+"))
    if source_arn is not None and (
        not isinstance(source_arn, str) or not _SOURCE_ARN_RE.fullmatch(source_arn)
    ):
        problems.append(
            _pattern_error(
                source_arn,
                "sourceArn",
                "arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:((eusc-)?[a-z]{2}((-gov)|(-iso([a-z]?)))?"
                "-[a-z]+-\\d{1})?:(\\d{12})?:(.*)",
            )
        )
    if source_account is not None and (
        not isinstance(source_account, str) or not _ACCOUNT_RE.fullmatch(source_account)
    ):
        problems.append(_pattern_error(source_account, "sourceAccount", "\\d{12}"))
    if org_id is not None and (not isinstance(org_id, str) or not _ORG_RE.fullmatch(org_id)):
        problems.append(_pattern_error(org_id, "principalOrgID", "o-[a-z0-9]{10,32}"))
    if token is not None and (not isinstance(token, str) or not _TOKEN_RE.fullmatch(token)):
        problems.append(_pattern_error(token, "eventSourceToken", "[a-zA-Z0-9._\\-]+"))
    if auth_type is not None and auth_type not in AUTH_TYPES:
        problems.append(
            f"Value '{auth_type}' at 'functionUrlAuthType' failed to satisfy constraint: "
            "Member must satisfy enum value set: [NONE, AWS_IAM]"
        )
    if via_url is not None and not isinstance(via_url, bool):
        raise InvalidParameterValueError("InvokedViaFunctionUrl must be a boolean.")
    _raise_problems(problems)
    element = principal_element(str(principal))
    built: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": element,
        "Action": action,
        "Resource": resource,
    }
    # Each parameter becomes the condition key AWS documents for it ("Working with
    # resource-based IAM policies in Lambda"); StringEquals first, as AWS orders them.
    string_equals: dict[str, str] = {}
    if auth_type is not None:
        string_equals["lambda:FunctionUrlAuthType"] = str(auth_type)
    if org_id is not None:
        string_equals["aws:PrincipalOrgID"] = str(org_id)
    if source_account is not None:
        string_equals["AWS:SourceAccount"] = str(source_account)
    if token is not None:
        string_equals["lambda:EventSourceToken"] = str(token)
    condition: dict[str, dict[str, str]] = {}
    if string_equals:
        condition["StringEquals"] = string_equals
    if source_arn is not None:
        condition["ArnLike"] = {"AWS:SourceArn": str(source_arn)}
    if via_url is not None:
        condition["Bool"] = {"lambda:InvokedViaFunctionUrl": "true" if via_url else "false"}
    if condition:
        built["Condition"] = condition
    return built


def empty_document() -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Id": "default", "Statement": []}


def _statements(document: Mapping[str, Any]) -> list[Any]:
    found = document.get("Statement", [])
    # A policy document may hold a single statement object instead of a list (IAM grammar).
    return list(found) if isinstance(found, list) else [found]


def sids(document: Mapping[str, Any]) -> list[str]:
    return [s["Sid"] for s in _statements(document) if isinstance(s, dict) and "Sid" in s]


def with_statement(document: Mapping[str, Any] | None, added: dict[str, Any]) -> dict[str, Any]:
    """``document`` plus ``added``; a Sid already there is AWS's 409."""
    base = dict(document) if document is not None else empty_document()
    if added["Sid"] in sids(base):
        raise ResourceConflictError(
            f"The statement id ({added['Sid']}) provided already exists. Please provide a new "
            "statement id, or remove the existing statement."
        )
    base["Statement"] = [*_statements(base), added]
    return base


def without_statement(document: Mapping[str, Any], sid: str) -> dict[str, Any] | None:
    """``document`` less the statement ``sid`` (None when nothing is left: the function has no
    policy any more, and GetPolicy answers 404 again, as on AWS)."""
    kept = [s for s in _statements(document) if not (isinstance(s, dict) and s.get("Sid") == sid)]
    if len(kept) == len(_statements(document)):
        raise ResourceNotFoundError(f"Statement {sid} is not found in resource policy.")
    if not kept:
        return None
    return {**document, "Statement": kept}


def serialize(document: Mapping[str, Any]) -> str:
    """Compact JSON, as AWS returns Policy; over 20 KB is PolicyLengthExceededException."""
    text = orjson.dumps(document).decode()
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyLengthExceededError(
            f"The final policy size ({len(text.encode())}) is bigger than the limit "
            f"({MAX_POLICY_BYTES})."
        )
    return text


def parse_document(text: Any) -> dict[str, Any]:
    """A PutResourcePolicy ``Policy``: JSON text of an object with a Statement (one object
    or a list of them), at most 20 KB."""
    if not isinstance(text, str) or not text:
        raise InvalidParameterValueError("Policy is required: the policy document as JSON text.")
    if len(text.encode()) > MAX_POLICY_BYTES:
        raise PolicyLengthExceededError(
            f"The policy size ({len(text.encode())}) is bigger than the limit ({MAX_POLICY_BYTES})."
        )
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise InvalidParameterValueError(f"The policy is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidParameterValueError("The policy must be a JSON object with a Statement.")
    statements = document.get("Statement")
    if not isinstance(statements, (list, dict)) or not statements:
        raise InvalidParameterValueError(
            "The policy must have a Statement: a statement object or a non-empty list of them."
        )
    if not all(isinstance(s, dict) for s in _statements(document)):
        raise InvalidParameterValueError("Each statement of the policy must be a JSON object.")
    seen = sids(document)
    if len(seen) != len(set(seen)):
        raise InvalidParameterValueError("Statement ids (Sid) must be unique within the policy.")
    return document
