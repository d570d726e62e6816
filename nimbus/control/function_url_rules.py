"""What a function URL configuration may say (pure): botocore's lambda model constraints on
``Qualifier``, ``AuthType``, ``InvokeMode`` and ``Cors``, in AWS's ValidationException words
("1 validation error detected: Value 'x' at 'authType' failed to satisfy constraint: ...")."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from nimbus.control.ids import random_id
from nimbus.errors import ValidationError
from nimbus.web.cors import CorsConfig

AUTH_TYPES = ("NONE", "AWS_IAM")
INVOKE_MODES = ("BUFFERED", "RESPONSE_STREAM")
QUALIFIER_PATTERN = r"((?!^\d+$)^[0-9a-zA-Z-_]+$)"
_QUALIFIER = re.compile(QUALIFIER_PATTERN)
URL_ID_LENGTH = 32  # AWS's url ids: 32 lower-case letters and digits
_CORS_LISTS = {  # key: (botocore's max items, max length of each)
    "AllowHeaders": (100, 1024),
    "AllowMethods": (6, 6),
    "AllowOrigins": (100, 253),
    "ExposeHeaders": (100, 1024),
}


def _invalid(value: object, field: str, constraint: str) -> ValidationError:
    shown = "null" if value is None else value
    return ValidationError(
        f"1 validation error detected: Value '{shown}' at '{field}' failed to satisfy "
        f"constraint: {constraint}"
    )


def new_url_id() -> str:
    return random_id(URL_ID_LENGTH)


def qualifier(value: str | None) -> str:
    """The URL's qualifier: "" (the function) or an alias name; a version number or
    ``$LATEST`` fails the model's pattern, as on AWS."""
    if value is None:
        return ""
    if not 1 <= len(value) <= 128 or _QUALIFIER.fullmatch(value) is None:
        raise _invalid(
            value,
            "qualifier",
            f"Member must satisfy regular expression pattern: {QUALIFIER_PATTERN}",
        )
    return value


def auth_type(value: object, *, required: bool) -> str | None:
    if value is None and not required:
        return None
    if value is None:
        raise _invalid(None, "authType", "Member must not be null")
    if value not in AUTH_TYPES:
        raise _invalid(value, "authType", "Member must satisfy enum value set: [NONE, AWS_IAM]")
    return str(value)


def invoke_mode(value: object) -> str | None:
    if value is None:
        return None
    if value not in INVOKE_MODES:
        raise _invalid(
            value, "invokeMode", "Member must satisfy enum value set: [BUFFERED, RESPONSE_STREAM]"
        )
    return str(value)


def cors(value: object) -> dict[str, Any] | None:
    """The Cors structure as stored and returned (only the keys given), or None."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _invalid(value, "cors", "Member must be a structure")
    checked: dict[str, Any] = {}
    for key, raw in value.items():
        field = f"cors.{key[0].lower()}{key[1:]}" if key else "cors"
        if key in _CORS_LISTS:
            most, longest = _CORS_LISTS[key]
            if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
                raise _invalid(raw, field, "Member must be a list of strings")
            if len(raw) > most:
                raise _invalid(raw, field, f"Member must have length less than or equal to {most}")
            for item in raw:
                if len(item) > longest:
                    raise _invalid(
                        item, field, f"Member must have length less than or equal to {longest}"
                    )
            checked[key] = list(raw)
        elif key == "AllowCredentials":
            if not isinstance(raw, bool):
                raise _invalid(raw, field, "Member must be a boolean")
            checked[key] = raw
        elif key == "MaxAge":
            if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 86400:
                raise _invalid(raw, field, "Member must be between 0 and 86400")
            checked[key] = raw
        else:
            raise ValidationError(f"Unknown Cors field '{key}'.")
    return checked


def cors_config(stored: Mapping[str, Any] | None) -> CorsConfig | None:
    """The ``web.cors`` form of a stored Cors structure (None: CORS not configured)."""
    if stored is None:
        return None
    return CorsConfig(
        allow_origins=tuple(stored.get("AllowOrigins", ())),
        allow_methods=tuple(m.upper() for m in stored.get("AllowMethods", ())),
        allow_headers=tuple(stored.get("AllowHeaders", ())),
        expose_headers=tuple(stored.get("ExposeHeaders", ())),
        allow_credentials=bool(stored.get("AllowCredentials", False)),
        max_age=stored.get("MaxAge"),
    )
