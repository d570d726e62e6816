"""Pure validation of control-plane input, with AWS's error types and messages."""

from __future__ import annotations

import base64
import binascii
import io
import re
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from nimbus.control import archive_rules
from nimbus.errors import InvalidParameterValueError, RequestEntityTooLargeError, ValidationError
from nimbus.model.arn import NAME_RE
from nimbus.model.function import RESERVED_ENV
from nimbus.runtimes import registry

MAX_ZIP_BYTES = 50 * 1024 * 1024  # direct upload limit
MAX_UNZIPPED_BYTES = 262_144_000  # function + layers, unzipped
MAX_ENV_BYTES = 4 * 1024
MEMORY_RANGE = (128, 10_240)
TIMEOUT_RANGE = (1, 900)
EPHEMERAL_RANGE = (512, 10_240)
ROLE_RE = re.compile(r"^arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-/]+$")
HANDLER_RE = re.compile(r"^[^\s]+$")
ENV_KEY_RE = re.compile(r"^[a-zA-Z]([a-zA-Z0-9_])+$")


INT64_MAX = 2**63 - 1  # the largest number a BIGINT column (and AWS's `long`) holds
_DECIMAL_RE = re.compile(r"-?[0-9]{1,19}")  # ASCII: str.isdigit() accepts "²", int() does not


def int64(text: str) -> int | None:
    """``text`` as a decimal integer within a signed 64-bit range, or None if it is anything
    else: not a number, a number in other digits, or too large for any store or AWS `long`."""
    if not _DECIMAL_RE.fullmatch(text):
        return None
    value = int(text)
    return value if -INT64_MAX - 1 <= value <= INT64_MAX else None


@dataclass(frozen=True, kw_only=True)
class CheckedZip:
    data: bytes
    unzipped_size: int


def function_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidParameterValueError(
            f"Function name '{name}' is not valid: use 1-64 letters, digits, hyphens or "
            "underscores (or a function ARN)."
        )
    return name


def int_in_range(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidParameterValueError(f"{field} must be an integer between {low} and {high}.")
    if not low <= value <= high:
        raise InvalidParameterValueError(
            f"'{value}' at '{field[0].lower() + field[1:]}' failed to satisfy constraint: "
            f"Member must have value between {low} and {high} (inclusive)."
        )
    return value


def string(value: Any, field: str, *, max_len: int, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str):
        raise InvalidParameterValueError(f"{field} must be a string.")
    if len(value) > max_len:
        raise InvalidParameterValueError(f"{field} must be at most {max_len} characters long.")
    if pattern is not None and not pattern.match(value):
        raise InvalidParameterValueError(f"{field} '{value}' is not valid.")
    return value


def role(value: Any) -> str:
    if not isinstance(value, str) or not ROLE_RE.fullmatch(value):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'role' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+"
        )
    return value


KMS_KEY_ARN_RE = re.compile(r"(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()")


def kms_key_arn(value: Any) -> str:
    """KMSKeyArn as botocore's model constrains it; "" means the default key (AWS omits the
    field then). Nimbus seals variables with its node key whatever key is named."""
    if not isinstance(value, str) or len(value) > 10_000 or not KMS_KEY_ARN_RE.fullmatch(value):
        raise ValidationError(
            f"1 validation error detected: Value '{value}' at 'kMSKeyArn' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "(arn:(aws[a-zA-Z-]*)?:[a-z0-9-.]+:.*)|()"
        )
    return value


def runtime(value: Any, runnable: Sequence[str], *, today: date | None = None) -> str:
    """The runtime, if AWS accepts it for a new function on ``today`` (default: now, UTC)
    and this host can run it."""
    if not isinstance(value, str) or not registry.is_known(value):
        raise InvalidParameterValueError(
            f"Value '{value}' at 'runtime' is not a Lambda runtime. This host can run: "
            f"{', '.join(runnable)}."
        )
    if registry.blocked_for_create(value, today or datetime.now(UTC).date()):
        raise InvalidParameterValueError(
            f"The runtime parameter of {value} is no longer supported for creating or "
            "updating AWS Lambda functions. We recommend you use a supported runtime while "
            f"creating or updating functions. This host can run: {', '.join(runnable)}."
        )
    if value not in runnable:
        raise InvalidParameterValueError(
            f"The runtime {value} cannot run on this Nimbus host (its interpreter is not "
            f"installed). This host can run: {', '.join(runnable)}."
        )
    return value


def handler(value: Any, runtime_name: str) -> str:
    family = registry.family_of(runtime_name)
    if value is None:
        if family == "provided":
            return ""
        raise InvalidParameterValueError(
            f"Handler is required for runtime {runtime_name}: use 'file.function', e.g. "
            "'app.handler'."
        )
    text = string(value, "Handler", max_len=128)
    if not HANDLER_RE.fullmatch(text):
        raise InvalidParameterValueError(
            f"Handler '{text}' is not valid: it must not contain white space."
        )
    if family in ("python", "nodejs"):
        module, _, func = text.rpartition(".")
        if not module or not func or module.endswith("/"):
            raise InvalidParameterValueError(
                f"Handler '{text}' is not valid: use 'file.function' (for example "
                "'app.handler' or 'src/app.handler')."
            )
    return text


def environment(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidParameterValueError("Environment must be an object with 'Variables'.")
    variables = value.get("Variables") or {}
    if not isinstance(variables, Mapping):
        raise InvalidParameterValueError("Environment.Variables must be a map of strings.")
    reserved = sorted(k for k in variables if k in RESERVED_ENV)
    if reserved:
        raise InvalidParameterValueError(
            "Lambda was unable to configure your environment variables because the "
            "environment variables you have provided contains reserved keys that are "
            f"currently not supported for modification. Reserved keys used in this request: "
            f"{', '.join(reserved)}"
        )
    result: dict[str, str] = {}
    for key, val in variables.items():
        if not isinstance(key, str) or not ENV_KEY_RE.fullmatch(key):
            raise InvalidParameterValueError(
                f"Environment variable name '{key}' is not valid: it must start with a letter "
                "and contain only letters, digits and underscores."
            )
        if not isinstance(val, str):
            raise InvalidParameterValueError(f"Environment variable '{key}' must be a string.")
        result[key] = val
    size = sum(len(k.encode()) + len(v.encode()) for k, v in result.items())
    if size > MAX_ENV_BYTES:
        raise InvalidParameterValueError(
            "Lambda was unable to configure your environment variables because the "
            f"environment variables you have provided exceeded the 4KB limit. Measured: {size}"
        )
    return result


def architectures(value: Any) -> tuple[str, ...]:
    if value is None:
        return ("x86_64",)
    if not isinstance(value, list) or len(value) != 1 or value[0] not in ("x86_64", "arm64"):
        raise InvalidParameterValueError(
            "Architectures must be a list with exactly one of 'x86_64' or 'arm64'."
        )
    return (str(value[0]),)


def ephemeral_storage(value: Any) -> int:
    if value is None:
        return 512
    if not isinstance(value, Mapping) or "Size" not in value:
        raise InvalidParameterValueError("EphemeralStorage must be an object with 'Size'.")
    return int_in_range(value["Size"], "EphemeralStorage.Size", *EPHEMERAL_RANGE)


def tags(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidParameterValueError("Tags must be a map of string keys to string values.")
    for key in value:
        if not 1 <= len(key) <= 128 or key.startswith("aws:"):
            raise InvalidParameterValueError(
                f"Tag key '{key}' is not valid: 1-128 characters, not starting with 'aws:'."
            )
    if len(value) > 50:
        raise InvalidParameterValueError("A function can have at most 50 tags.")
    return dict(value)


def zip_file(value: Any) -> CheckedZip:
    """Decode and check a base64 ``ZipFile``: a real, non-empty zip within AWS's limits."""
    if not isinstance(value, str) or not value:
        raise InvalidParameterValueError("ZipFile must be a base64-encoded zip archive.")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidParameterValueError("ZipFile is not valid base64.") from exc
    if len(data) > MAX_ZIP_BYTES:
        raise RequestEntityTooLargeError(
            f"Zipped size must be smaller than {MAX_ZIP_BYTES} bytes for a direct upload; "
            f"this one is {len(data)} bytes."
        )
    entries = archive_rules.central_directory_entries(data)
    if entries is not None and entries > archive_rules.MAX_ENTRIES:
        raise InvalidParameterValueError(_too_many_entries())
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > archive_rules.MAX_ENTRIES:
                raise InvalidParameterValueError(_too_many_entries())
            unzipped = _unzipped_size(infos)
            # Only now, with the declared sizes bounded, is inflating everything affordable.
            bad = archive.testzip()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError) as exc:
        raise InvalidParameterValueError(_UNZIP_FAILED) from exc
    except (zlib.error, NotImplementedError, RuntimeError) as exc:
        # A broken deflate stream, an unsupported compression method, an encrypted entry.
        raise InvalidParameterValueError(
            f"Could not unzip uploaded file: {exc}. Please check your file, then try to "
            "upload again."
        ) from exc
    if bad is not None:
        raise InvalidParameterValueError(
            f"Could not unzip uploaded file: entry '{bad}' is corrupt. Please check your file, "
            "then try to upload again."
        )
    problem = archive_rules.layout_problem((info.filename, info.is_dir()) for info in infos)
    if problem is not None:
        raise InvalidParameterValueError(
            f"Could not unzip uploaded file: {problem}. Please check your file, then try to "
            "upload again."
        )
    return CheckedZip(data=data, unzipped_size=unzipped)


_UNZIP_FAILED = "Could not unzip uploaded file. Please check your file, then try to upload again."


def _too_many_entries() -> str:
    return (
        f"Could not unzip uploaded file: it holds more than {archive_rules.MAX_ENTRIES} "
        "entries. Please check your file, then try to upload again."
    )


def _unzipped_size(infos: Sequence[zipfile.ZipInfo]) -> int:
    """The declared unzipped size, within AWS's limit, of an archive that holds files."""
    if not any(not info.is_dir() for info in infos):
        raise InvalidParameterValueError(
            "Uploaded file must be a non-empty zip: this archive holds no files."
        )
    unzipped = sum(info.file_size for info in infos)
    if unzipped > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueError(
            f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
        )
    return unzipped
