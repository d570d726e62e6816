"""Pure rules of HTTP API configuration: each input checked as API Gateway checks it (botocore's
apigatewayv2 model: lengths, enums, ranges), BadRequestException with what to fix otherwise.

Nimbus serves what an HTTP API in front of Lambda needs: ``AWS_PROXY`` integrations with a
Lambda function, routes without authorizers (``AuthorizationType`` ``NONE``); anything else is
refused rather than accepted and ignored (an ``AWS_IAM`` route that did not check callers
would be open).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from nimbus.control.ids import random_id
from nimbus.errors import BadRequestError, NimbusError
from nimbus.model.arn import FunctionRef, parse_function_ref
from nimbus.model.http_api import DEFAULT_STAGE, TARGET_PREFIX, ApiCors
from nimbus.web.api_routes import RouteKeyError, parse_route_key

PAYLOAD_VERSIONS = ("1.0", "2.0")
TIMEOUT_RANGE = (50, 30_000)  # TimeoutInMillis: IntegerWithLengthBetween50And30000
MAX_RESULTS = 500
_STAGE_RE = re.compile(r"^[A-Za-z0-9_\-]{1,128}$")
_VARIABLE_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_VARIABLE_VALUE_RE = re.compile(r"^[A-Za-z0-9\-._~:/?#&=,]{0,2048}$")
# SAM's and CloudFormation's spelling of a Lambda integration URI.
_INVOCATIONS_RE = re.compile(
    r"^arn:aws[a-zA-Z-]*:apigateway:[a-z0-9-]+:lambda:path/2015-03-31/functions/(?P<arn>.+)"
    r"/invocations$"
)
_CORS_METHODS = ("*", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def new_id(length: int) -> str:
    """An API Gateway-style id: lower-case letters and digits (API ids have 10, integration
    and route ids 7)."""
    return random_id(length)


def _bad(message: str) -> BadRequestError:
    return BadRequestError(message)


def string_field(value: object, field: str, *, low: int, high: int) -> str:
    if not isinstance(value, str):
        raise _bad(f"{field} must be a string.")
    if not low <= len(value) <= high:
        raise _bad(f"{field} must be between {low} and {high} characters long.")
    return value


def optional_string(value: object, field: str, *, high: int) -> str | None:
    return None if value is None else string_field(value, field, low=0, high=high)


def boolean(value: object, field: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(f"{field} must be true or false.")
    return value


def name(value: object) -> str:
    if value is None:
        raise _bad("Name is required.")
    return string_field(value, "Name", low=1, high=128)


def protocol_type(value: object) -> str:
    if value == "HTTP":
        return "HTTP"
    if value == "WEBSOCKET":
        raise _bad("ProtocolType WEBSOCKET is not supported by Nimbus: create an HTTP API.")
    raise _bad("ProtocolType is required and must be HTTP.")


def string_map(value: object, field: str) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise _bad(f"{field} must be an object of string values.")
    return dict(value)


def tags(value: object) -> dict[str, str]:
    found = string_map(value, "Tags")
    for key, text in found.items():
        if not 1 <= len(key) <= 128 or len(text) > 256:
            raise _bad("Tag keys must be 1 to 128 characters long and values at most 256.")
    return found


def _strings(value: object, field: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(f"CorsConfiguration.{field} must be a list of strings.")
    return tuple(value)


def cors(value: object) -> ApiCors:
    """A CorsConfiguration (the wire's lowerCamel names)."""
    if not isinstance(value, Mapping):
        raise _bad("CorsConfiguration must be an object.")
    methods = _strings(value.get("allowMethods", []), "AllowMethods")
    for method in methods:
        if method.upper() not in _CORS_METHODS:
            raise _bad(
                f"CorsConfiguration.AllowMethods: '{method}' is not one of "
                f"{', '.join(_CORS_METHODS)}."
            )
    max_age = value.get("maxAge")
    if max_age is not None and (
        not isinstance(max_age, int) or isinstance(max_age, bool) or not -1 <= max_age <= 86400
    ):
        raise _bad("CorsConfiguration.MaxAge must be an integer between -1 and 86400.")
    credentials = value.get("allowCredentials")
    return ApiCors(
        allow_origins=_strings(value.get("allowOrigins", []), "AllowOrigins"),
        allow_methods=tuple(m.upper() for m in methods),
        allow_headers=_strings(value.get("allowHeaders", []), "AllowHeaders"),
        expose_headers=_strings(value.get("exposeHeaders", []), "ExposeHeaders"),
        allow_credentials=(
            None if credentials is None else boolean(credentials, "AllowCredentials")
        ),
        max_age=max_age,
    )


# --- integrations ---------------------------------------------------------------------------


def integration_type(value: object) -> str:
    if value == "AWS_PROXY":
        return "AWS_PROXY"
    if value in ("AWS", "HTTP", "MOCK", "HTTP_PROXY"):
        raise _bad(
            f"IntegrationType {value} is not supported by Nimbus: use AWS_PROXY with a Lambda "
            "function ARN as IntegrationUri."
        )
    raise _bad("IntegrationType is required: AWS_PROXY, with a Lambda function ARN.")


def function_of(uri: str) -> FunctionRef:
    """The Lambda function an integration URI names: a function ARN, or
    ``arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>/invocations``
    (SAM's and CloudFormation's form). BadRequestError otherwise."""
    found = _INVOCATIONS_RE.match(uri)
    arn = found.group("arn") if found is not None else uri
    problem = (
        f"IntegrationUri '{uri}' is not a Lambda function: give its ARN "
        "(arn:aws:lambda:<region>:<account>:function:<name>[:<alias or version>]) or "
        "arn:aws:apigateway:<region>:lambda:path/2015-03-31/functions/<function ARN>"
        "/invocations."
    )
    if not arn.startswith("arn:"):
        raise _bad(problem)
    try:
        ref = parse_function_ref(arn)
    except NimbusError as exc:
        raise _bad(problem) from exc
    if ref.region is None or ref.account is None:
        raise _bad(problem)
    return ref


def integration_uri(value: object) -> str:
    if value is None:
        raise _bad("IntegrationUri is required for an AWS_PROXY integration.")
    uri = string_field(value, "IntegrationUri", low=1, high=2048)
    function_of(uri)
    return uri


def payload_format_version(value: object) -> str:
    if value is None:
        # AWS: "If you create a Lambda integration by using the AWS CLI, CloudFormation, or
        # an SDK, you must specify a payloadFormatVersion."
        raise _bad("PayloadFormatVersion is required for a Lambda integration: 1.0 or 2.0.")
    if value not in PAYLOAD_VERSIONS:
        raise _bad(f"PayloadFormatVersion '{value}' is not valid: use 1.0 or 2.0.")
    return str(value)


def timeout_ms(value: object) -> int:
    low, high = TIMEOUT_RANGE
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(f"TimeoutInMillis must be an integer between {low} and {high}.")
    return value


# --- routes ------------------------------------------------------------------------------------


def route_key(value: object) -> str:
    if value is None:
        raise _bad("RouteKey is required: '$default' or 'METHOD /path'.")
    key = string_field(value, "RouteKey", low=1, high=1024)
    try:
        parse_route_key(key)
    except RouteKeyError as exc:
        raise _bad(str(exc)) from exc
    return key


def target(value: object) -> str | None:
    """A route's Target: ``integrations/<integration id>``."""
    if value is None:
        return None
    text = string_field(value, "Target", low=1, high=128)
    if not text.startswith(TARGET_PREFIX) or len(text) == len(TARGET_PREFIX):
        raise _bad(f"Target '{text}' is not valid: use integrations/<IntegrationId>.")
    return text


def authorization_type(value: object) -> str:
    if value is None or value == "NONE":
        return "NONE"
    if value in ("AWS_IAM", "JWT", "CUSTOM"):
        raise _bad(
            f"AuthorizationType {value} is not supported by Nimbus: routes are served without "
            "authorization (NONE)."
        )
    raise _bad(f"AuthorizationType '{value}' is not one of NONE, AWS_IAM, CUSTOM, JWT.")


# --- stages --------------------------------------------------------------------------------


def stage_name(value: object) -> str:
    if value is None:
        raise _bad("StageName is required: $default or a name of letters, digits, - and _.")
    text = string_field(value, "StageName", low=1, high=128)
    if text != DEFAULT_STAGE and not _STAGE_RE.match(text):
        raise _bad(
            f"StageName '{text}' is not valid: use $default or letters, digits, '-' and '_'."
        )
    return text


def stage_variables(value: object) -> dict[str, str]:
    found = string_map(value, "StageVariables")
    for key, text in found.items():
        if not _VARIABLE_NAME_RE.match(key):
            raise _bad(
                f"Stage variable name '{key}' is not valid: use 1 to 64 letters, digits or '_'."
            )
        if not _VARIABLE_VALUE_RE.match(text):
            raise _bad(
                f"Stage variable '{key}' has a value API Gateway refuses: at most 2048 of the "
                "characters A-Z a-z 0-9 - . _ ~ : / ? # & = ,"
            )
    return found


def max_results(value: str | None) -> int:
    """MaxResults (a string in the query), 1..500; absent: 500."""
    if value is None:
        return MAX_RESULTS
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_RESULTS:
        raise _bad(f"MaxResults must be an integer between 1 and {MAX_RESULTS}.")
    return int(value)
