"""The JSON paths EventBridge's ``InputPath`` and ``InputPathsMap`` take (pure).

EventBridge uses JSONPath "to select part of the event" ("Transforming target input"):
in practice a chain of member names and array indexes from the root,
``$.detail.resources[0].id`` or ``$['detail-type']``. That subset is parsed here once, when
the target is put (so a bad path is refused then, not at delivery), and applied to each
event. A path that selects nothing selects ``MISSING``: the caller decides what that means
(an empty string in a template, nothing sent for an InputPath).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

_MEMBER: Final = re.compile(r"\.([A-Za-z0-9_$@-][A-Za-z0-9_$@:-]*)")
_QUOTED: Final = re.compile(r"\[\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\")\s*\]")
_INDEX: Final = re.compile(r"\[\s*(\d+)\s*\]")


class InvalidJsonPath(ValueError):
    """A path outside the subset: the message says where."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class JsonPath:
    text: str
    steps: tuple[str | int, ...]  # member names and array indexes, from the root


def parse_path(text: str) -> JsonPath:
    """``text`` as a path; raises InvalidJsonPath saying what is wrong."""
    if not text.startswith("$"):
        raise InvalidJsonPath(f"{text!r} must start with $ (the event), e.g. $.detail")
    steps: list[str | int] = []
    at = 1
    while at < len(text):
        for pattern in (_MEMBER, _QUOTED, _INDEX):
            match = pattern.match(text, at)
            if match is None:
                continue
            if pattern is _INDEX:
                steps.append(int(match.group(1)))
            elif pattern is _QUOTED:
                quoted = match.group(1) if match.group(1) is not None else match.group(2)
                steps.append(re.sub(r"\\(.)", r"\1", quoted))
            else:
                steps.append(match.group(1))
            at = match.end()
            break
        else:
            raise InvalidJsonPath(
                f"{text!r} is not a supported JSON path at {text[at:]!r}: use member names "
                "and array indexes, e.g. $.detail.items[0].id or $['detail-type']"
            )
    return JsonPath(text=text, steps=tuple(steps))


def select(path: JsonPath, document: Any) -> Any:
    """The value ``path`` selects in ``document``, or ``MISSING``."""
    value = document
    for step in path.steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
            value = value[step]
        else:
            if not isinstance(value, Mapping) or step not in value:
                return MISSING
            value = value[step]
    return value
