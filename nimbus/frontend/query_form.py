"""Reading the AWS query protocol's form (IAM, STS): flat ``Name=value`` pairs, lists as
``Name.member.N``, structures as ``Name.member.N.Field``; and writing its XML answers.

Bad input gets the query protocol's ValidationError as AWS words it: "1 validation error
detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from datetime import UTC, datetime

from nimbus.frontend.xml_text import xml_text
from nimbus.iam.errors import IamValidationError

Form = Mapping[str, str]


def member(name: str) -> str:
    """The member name AWS quotes in validation messages (``UserName`` → ``userName``)."""
    return name[:1].lower() + name[1:]


def required(form: Form, name: str) -> str:
    value = form.get(name)
    if value is None:
        raise IamValidationError(
            f"1 validation error detected: Value null at '{member(name)}' failed to satisfy "
            "constraint: Member must not be null"
        )
    return value


def optional(form: Form, name: str) -> str | None:
    return form.get(name)


def integer(form: Form, name: str) -> int | None:
    text = form.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise IamValidationError(
            f"1 validation error detected: Value '{text}' at '{member(name)}' failed to "
            "satisfy constraint: Member must be a number"
        ) from None


def boolean(form: Form, name: str) -> bool:
    text = form.get(name, "false").lower()
    if text not in ("true", "false"):
        raise IamValidationError(
            f"1 validation error detected: Value '{form[name]}' at '{member(name)}' failed to "
            "satisfy constraint: Member must be true or false"
        )
    return text == "true"


def _indexed(form: Form, prefix: str) -> dict[int, dict[str, str]]:
    grouped: dict[int, dict[str, str]] = {}
    start = f"{prefix}.member."
    for key, value in form.items():
        if key.startswith(start):
            index, _, field = key[len(start) :].partition(".")
            if index.isascii() and index.isdigit():
                grouped.setdefault(int(index), {})[field] = value
    return grouped


def strings(form: Form, prefix: str) -> tuple[str, ...]:
    """``prefix.member.N`` values in N order."""
    return tuple(v[""] for _, v in sorted(_indexed(form, prefix).items()) if "" in v)


def tags(form: Form, prefix: str = "Tags") -> tuple[tuple[str, str], ...]:
    found = []
    for index, entry in sorted(_indexed(form, prefix).items()):
        if "Key" not in entry:
            raise IamValidationError(
                f"1 validation error detected: Value null at 'tags.{index}.member.key' failed "
                "to satisfy constraint: Member must not be null"
            )
        found.append((entry["Key"], entry.get("Value", "")))
    return tuple(found)


# --- answers -------------------------------------------------------------------------------


def tag(name: str, value: str | int | bool | None) -> str:
    """``<name>value</name>``; nothing for None (an absent member)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return f"<{name}>{'true' if value else 'false'}</{name}>"
    return f"<{name}>{xml_text(str(value))}</{name}>"


def date(name: str, epoch: float | None) -> str:
    if epoch is None:
        return ""
    return tag(name, datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))


def document(name: str, text: str) -> str:
    # IAM returns policy documents URL-encoded (RFC 3986); SDKs decode them.
    return tag(name, urllib.parse.quote(text, safe=""))


def members(name: str, items: list[str]) -> str:
    return f"<{name}>" + "".join(f"<member>{item}</member>" for item in items) + f"</{name}>"


def truncation(marker: str | None) -> str:
    return tag("IsTruncated", marker is not None) + tag("Marker", marker)


def response(action: str, xmlns: str, result: str | None, request_id: str) -> str:
    """The whole answer: ``<ActionResponse><ActionResult>…`` (no Result element for an
    operation whose model has no output, as AWS)."""
    body = "" if result is None else f"<{action}Result>{result}</{action}Result>"
    return (
        f'<{action}Response xmlns="{xmlns}">{body}'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
