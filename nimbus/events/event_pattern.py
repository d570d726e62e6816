"""AWS's event-pattern language: parse (validate and pre-compile) a pattern, then match
events against it.

This is the language of EventBridge rules and of Lambda's event filtering ("Amazon
EventBridge event patterns", "Content filtering in Amazon EventBridge event patterns",
"Control which events Lambda sends to your function"). Its reference implementation is AWS's
Event Ruler; validation errors use Ruler's words, which are what EventBridge puts after
"Event pattern is not valid. Reason: " and what Lambda reports for a bad filter.

Semantics, as Ruler has them:

- A pattern is a JSON object; its fields are ANDed. A field's value is either an object
  (a pattern on a nested object) or an array of alternatives, ORed. ``$or`` takes an array of
  at least two objects, any of which must match.
- Only leaves (strings, numbers, booleans, null) are matched. An array in the event matches
  when any of its elements does; an object in an array of objects must match a nested
  pattern as a whole (fields of one element, never fields of two).
- Types count: the string ``"5"`` is not the number ``5``; numbers compare by value
  (``5`` matches ``5.0``); ``numeric``, ``prefix``, ``suffix``, ``wildcard``,
  ``equals-ignore-case`` and ``cidr`` apply to their own type only.
- ``exists: false`` matches a field with no leaf value (absent, an empty array, or an object);
  every other matcher needs a leaf, ``anything-but`` included.

Nothing here does I/O: ``parse_pattern`` turns text into a frozen ``EventPattern`` once, and
``matches`` is a pure function over it and a decoded event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import orjson

from nimbus.events.pattern_matchers import (
    Exact,
    Exists,
    InvalidEventPattern,
    Matcher,
    compile_matcher,
)

__all__ = ["MAX_DEPTH", "EventPattern", "InvalidEventPattern", "matches", "parse_pattern"]

OR = "$or"
# How deeply a pattern may nest objects ($or branches count as a level: matching one is a
# call deeper too). AWS documents no bound beyond the 4,096 characters of the Pattern shape,
# which fit ~800 levels of ``{"":``; real patterns nest a handful. Matching recurses a few
# frames per level, so a bound here is what keeps every match of a valid pattern within
# Python's recursion limit however deep the caller's own stack is.
MAX_DEPTH = 32
# Ruler refuses these as field names inside $or: they read as a misplaced operator.
_RESERVED_IN_OR = frozenset(
    {
        "anything-but",
        "cidr",
        "equals-ignore-case",
        "exists",
        "numeric",
        "prefix",
        "suffix",
        "wildcard",
    }
)


@dataclass(frozen=True, slots=True)
class Leaf:
    """A field's array of alternatives: any matcher matching any of the field's leaves."""

    matchers: tuple[Matcher, ...]


@dataclass(frozen=True, slots=True)
class ObjectPattern:
    """Fields ANDed, and each ``$or`` group satisfied by at least one of its branches."""

    fields: tuple[tuple[str, Leaf | ObjectPattern], ...]
    any_of: tuple[tuple[ObjectPattern, ...], ...] = ()


@dataclass(frozen=True, slots=True)
class EventPattern:
    """A validated, compiled pattern; ``source`` is the text it was parsed from."""

    root: ObjectPattern
    source: str


Node: TypeAlias = Leaf | ObjectPattern


class _Missing:
    __slots__ = ()


_MISSING = _Missing()


# --- parsing -----------------------------------------------------------------------------


def parse_pattern(text: str) -> EventPattern:
    """Validate and compile a pattern; ``InvalidEventPattern`` says what is wrong."""
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as err:
        raise InvalidEventPattern(f"Filter is not valid JSON: {err}") from None
    if not isinstance(document, dict):
        raise InvalidEventPattern("Filter is not an object")
    return EventPattern(root=_compile_object(document, inside_or=False, depth=1), source=text)


def _compile_object(obj: Mapping[str, Any], *, inside_or: bool, depth: int) -> ObjectPattern:
    if depth > MAX_DEPTH:
        raise InvalidEventPattern(
            f"Pattern nests objects more than {MAX_DEPTH} levels deep ($or branches "
            "included): flatten it"
        )
    if not obj:
        raise InvalidEventPattern("Empty objects are not allowed")
    fields: list[tuple[str, Node]] = []
    any_of: list[tuple[ObjectPattern, ...]] = []
    for name, value in obj.items():
        if name == OR:
            any_of.append(_compile_or(value, depth=depth + 1))
            continue
        if inside_or and name in _RESERVED_IN_OR:
            raise InvalidEventPattern(
                f"{name} is Ruler reserved fieldName which cannot be used inside {OR}."
            )
        if isinstance(value, dict):
            fields.append((name, _compile_object(value, inside_or=inside_or, depth=depth + 1)))
        elif isinstance(value, list):
            fields.append((name, _compile_leaf(value)))
        else:
            raise InvalidEventPattern(f'"{name}" must be an object or an array')
    return ObjectPattern(fields=tuple(fields), any_of=tuple(any_of))


def _compile_or(value: Any, *, depth: int) -> tuple[ObjectPattern, ...]:
    if not isinstance(value, list):
        raise InvalidEventPattern(f"It must be an Array followed with {OR}.")
    branches = []
    for branch in value:
        if not isinstance(branch, dict):
            raise InvalidEventPattern(f"Only JSON object is allowed in array of {OR} relationship.")
        branches.append(_compile_object(branch, inside_or=True, depth=depth))
    if len(branches) < 2:
        raise InvalidEventPattern(f"There must have at least 2 Objects in {OR} relationship.")
    return tuple(branches)


def _compile_leaf(values: list[Any]) -> Leaf:
    if not values:
        raise InvalidEventPattern("Empty arrays are not allowed")
    matchers: list[Matcher] = []
    for value in values:
        if isinstance(value, dict):
            matchers.append(compile_matcher(value))
        elif value is None or isinstance(value, str | int | float):
            matchers.append(Exact(value))
        else:
            raise InvalidEventPattern("Match value must be String, number, true, false, or null")
    return Leaf(matchers=tuple(matchers))


# --- matching ----------------------------------------------------------------------------


def matches(pattern: EventPattern, event: Mapping[str, Any]) -> bool:
    """Does ``event`` (a decoded JSON object) match ``pattern``?"""
    return _match_object(pattern.root, event)


def _match_object(pattern: ObjectPattern, value: Any) -> bool:
    if isinstance(value, list):
        # An array of objects: one element must satisfy the whole nested pattern. An empty
        # array (or one of bare leaves) holds none of the pattern's fields.
        elements = [v for v in _flatten(value) if isinstance(v, dict)]
        if elements:
            return any(_match_object(pattern, element) for element in elements)
        value = _MISSING
    fields: Mapping[str, Any] = value if isinstance(value, dict) else {}
    for name, node in pattern.fields:
        if not _match_node(node, fields.get(name, _MISSING)):
            return False
    return all(any(_match_object(branch, value) for branch in group) for group in pattern.any_of)


def _match_node(node: Node, value: Any) -> bool:
    if isinstance(node, ObjectPattern):
        return _match_object(node, value)
    leaves = _leaves(value)
    for matcher in node.matchers:
        if isinstance(matcher, Exists):
            if matcher.exists == bool(leaves):
                return True
        elif any(matcher.test(leaf) for leaf in leaves):
            return True
    return False


def _leaves(value: Any) -> list[Any]:
    """The leaf values at a path: the value itself, or an array's (nested) scalar elements."""
    if value is _MISSING or isinstance(value, dict):
        return []
    if isinstance(value, list):
        return [v for v in _flatten(value) if not isinstance(v, dict)]
    return [value]


def _flatten(values: list[Any]) -> list[Any]:
    """An array's non-array elements, nested arrays opened, in order. Iterative: an event
    may nest arrays as deep as its JSON parser allows, deeper than Python's recursion."""
    out: list[Any] = []
    stack = [iter(values)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                stack.append(iter(value))
                break
            out.append(value)
        else:
            stack.pop()
    return out
