"""Request parameters shared by the route tables: bodies, function names, paging."""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import parse_qsl

from starlette.requests import Request

from nimbus.control import validation
from nimbus.errors import InvalidParameterValueError, RequestEntityTooLargeError
from nimbus.frontend.body import parse_json_object, read_limited
from nimbus.model.arn import Arns, FunctionRef, parse_function_ref

# A 50 MB zip is ~70 MB once base64-encoded in JSON (AWS's own bound: 69,905,067 bytes).
MAX_CODE_REQUEST = 69_905_067
MAX_REQUEST = 6 * 1024 * 1024


async def json_body(request: Request, limit: int = MAX_REQUEST) -> dict[str, Any]:
    raw = await read_limited(
        request,
        limit,
        RequestEntityTooLargeError(
            f"Request must be smaller than {limit} bytes for the "
            f"{request.scope.get('route_name', 'this')} operation"
        ),
    )
    # The gate parsed this very body to authorize it (CreateFunction's ~70 MB): reuse that.
    parsed = request.scope.get(PARSED_BODY_KEY)
    if parsed is not None and parsed[0] is raw:
        return dict(parsed[1])
    return parse_json_object(raw)


# What the gate (``frontend.auth_gate``) hands the routes in the ASGI scope: the one place
# these keys are named.
PRINCIPAL_KEY: Final = "nimbus.principal"  # who signed the request (auth.principal.Principal)
SERVICE_KEY: Final = "nimbus.service"  # the service the signature names
OPERATION_KEY: Final = "nimbus.operation"  # the operations.Operation the gate authorized
PARSED_BODY_KEY: Final = "nimbus.parsed_body"  # (raw body, its JSON object)
FORM_KEY: Final = "nimbus.form"  # POST /'s query-protocol form, as the gate authorized it


def query_values(query_string: bytes) -> dict[str, str]:
    """A query string's parameters, one value each: the *last* of a repeated name, exactly as
    Starlette's ``request.query_params`` reads them (``QueryParams``: latin-1, blank values
    kept, later pairs overwriting earlier). The gate authorizes what this returns and the
    handlers act on ``request.query_params``, so the two can never name different values."""
    return dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))


def query_form(body: bytes, query_string: bytes) -> dict[str, str]:
    """The query protocol's parameters (SNS, IAM, STS): the form body's, then the query
    string's over them; a repeated name is its last value. Parsed once by the gate, which
    authorizes it and hands it to ``root_api`` (``FORM_KEY``) to act on."""
    form = dict(parse_qsl(body.decode(errors="replace"), keep_blank_values=True))
    form.update(query_values(query_string))
    return form


def function_ref(arns: Arns, request: Request, *, allow_qualifier: bool = True) -> FunctionRef:
    """The function a path names (name, partial or full ARN), checked to be this account's."""
    ref = parse_function_ref(request.path_params["name"], allow_qualifier=allow_qualifier)
    arns.check_owner(ref)
    return ref


def function_name(arns: Arns, request: Request) -> str:
    """The unqualified function a path names (name, partial or full ARN)."""
    return function_ref(arns, request, allow_qualifier=False).name


def max_items(request: Request, *, default: int, high: int, page: int | None = None) -> int:
    """MaxItems, checked against its range (botocore's 1..``high``); ``page`` is the most one
    response holds whatever was asked (ListFunctions and ListVersionsByFunction: "returns a
    maximum of 50 items in each response, even if you set the number higher")."""
    raw = request.query_params.get("MaxItems")
    if raw is None:
        return default if page is None else min(default, page)
    value = validation.int64(raw)
    if value is None or not 1 <= value <= high:
        raise InvalidParameterValueError(f"MaxItems must be an integer between 1 and {high}.")
    return value if page is None else min(value, page)


def marker(request: Request) -> str | None:
    return request.query_params.get("Marker") or None


def offset_marker(request: Request) -> int:
    """A Marker that is an offset into a listing (the listings that hand out offsets): 0 when
    absent; anything but a 64-bit non-negative number is a marker no listing handed out."""
    raw = marker(request)
    if raw is None:
        return 0
    value = validation.int64(raw)
    if value is None or value < 0:
        raise InvalidParameterValueError(f"Marker '{raw}' is not valid.")
    return value


def non_negative(request: Request, key: str, default: int) -> int:
    """An optional non-negative integer query parameter (a 64-bit one: larger is refused)."""
    raw = request.query_params.get(key)
    if raw is None:
        return default
    value = validation.int64(raw)
    if value is None or value < 0:
        raise InvalidParameterValueError(
            f"{key} must be an integer between 0 and {validation.INT64_MAX}."
        )
    return value


def optional_string(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidParameterValueError(f"{key} must be a string.")
    return value
