"""The input members of the built-in queues' JSON protocol (botocore's ``sqs`` model), typed
and checked as SQS checks them: the generic members, message attributes, and the one message
system attribute (AWSTraceHeader). Pure: no queue service here."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from nimbus.errors import SqsInvalidParameterError
from nimbus.model.queue import MessageAttribute
from nimbus.queues.attributes import md5_of_attributes

Params = Mapping[str, Any]
# The one system attribute a message may be sent with (botocore's
# MessageSystemAttributeNameForSends enum); its DataType must be String.
TRACE_HEADER = "AWSTraceHeader"
# An X-Ray header with a long lineage is a few hundred bytes; a longer one is refused (a
# system attribute does not count towards the message's size, so it needs its own bound).
MAX_TRACE_HEADER = 4096

# The JSON protocol's input is typed by the model (botocore's sqs service-2.json): a member of
# another JSON type is refused as SQS refuses it, before anything uses it as its type.


def invalid(name: str) -> SqsInvalidParameterError:
    return SqsInvalidParameterError(f"Value for parameter {name} is invalid: wrong type.")


def string(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise invalid(name)
    return value


def object_member(params: Params, name: str) -> dict[str, Any]:
    """A map or structure member ({} when absent)."""
    value = params.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise invalid(name)
    return value


def string_map(params: Params, name: str) -> dict[str, str]:
    """A map of strings (queue attributes, tags)."""
    value = object_member(params, name)
    if not all(isinstance(v, str) for v in value.values()):
        raise invalid(name)
    return value


def strings(params: Params, name: str) -> list[str]:
    """A list of strings ([] when absent)."""
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(name)
    return value


def integer(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(name)
    try:
        return int(value)
    except ValueError as exc:
        raise SqsInvalidParameterError(f"Value {value} for parameter {name} is invalid.") from exc


def message_attributes(raw: Any) -> dict[str, MessageAttribute]:
    if not raw:
        return {}
    if not isinstance(raw, dict) or len(raw) > 10:
        raise SqsInvalidParameterError("Number of message attributes cannot exceed 10.")
    attributes = {}
    for name, value in raw.items():
        if not isinstance(value, dict):
            raise invalid(f"MessageAttributes.{name}")
        data_type = str(value.get("DataType", ""))
        if data_type.split(".")[0] not in ("String", "Number", "Binary"):
            raise SqsInvalidParameterError(
                f"The type of message (user) attribute '{name}' is invalid."
            )
        binary = string(value, "BinaryValue")
        try:
            decoded = None if binary is None else base64.b64decode(binary)
        except (binascii.Error, ValueError) as exc:
            raise SqsInvalidParameterError(f"Invalid binary value of attribute {name}.") from exc
        if binary is None and string(value, "StringValue") is None:
            raise SqsInvalidParameterError(
                f"The message attribute '{name}' must contain non-empty message attribute value."
            )
        attributes[str(name)] = MessageAttribute(
            data_type=data_type, string_value=value.get("StringValue"), binary_value=decoded
        )
    return attributes


def render_attributes(attributes: Mapping[str, MessageAttribute]) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    for name, a in attributes.items():
        value: dict[str, Any] = {"DataType": a.data_type}
        if a.binary_value is not None:
            value["BinaryValue"] = base64.b64encode(a.binary_value).decode()
        else:
            value["StringValue"] = a.string_value
        rendered[name] = value
    return rendered


def trace_header_attribute(raw: Any) -> str | None:
    """The AWSTraceHeader a SendMessage entry's MessageSystemAttributes carries, checked as
    SQS checks it: AWSTraceHeader is the only name, its DataType String, its value a
    non-empty string."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise invalid("MessageSystemAttributes")
    header: str | None = None
    for name, value in raw.items():
        if name != TRACE_HEADER:
            raise SqsInvalidParameterError(
                f"'{name}' is not a valid message system attribute: the only one a message "
                f"can be sent with is {TRACE_HEADER}."
            )
        if not isinstance(value, dict):
            raise invalid(f"MessageSystemAttributes.{name}")
        if value.get("DataType") != "String":
            raise SqsInvalidParameterError(f"DataType of {TRACE_HEADER} must be String.")
        text = string(value, "StringValue")
        if not text:
            raise SqsInvalidParameterError(
                f"The message system attribute '{TRACE_HEADER}' must contain a non-empty "
                "StringValue."
            )
        if len(text) > MAX_TRACE_HEADER:
            raise SqsInvalidParameterError(
                f"Value for parameter {TRACE_HEADER} is invalid. Reason: it must be at most "
                f"{MAX_TRACE_HEADER} characters."
            )
        header = text
    return header


def http_trace_header(value: str | None) -> str | None:
    """The request's X-Amzn-Trace-Id as a message's AWSTraceHeader: botocore's recursion
    detection handler sends the function's ``_X_AMZN_TRACE_ID`` URL-quoted (``|`` as
    ``%7C``), SQS stores it as the header it names. An unusable one is ignored, never an
    error: the caller did not ask for it."""
    if not value:
        return None
    text = unquote(value).strip()
    return text if 0 < len(text) <= MAX_TRACE_HEADER and text.isprintable() else None


def system_md5(trace_header: str) -> str | None:
    """MD5OfMessageSystemAttributes: the message attributes' digest, over the system ones."""
    return md5_of_attributes(
        {TRACE_HEADER: MessageAttribute(data_type="String", string_value=trace_header)}
    )
