"""The value matchers of AWS's event-pattern language (the objects inside a field's array:
``prefix``, ``suffix``, ``anything-but``, ``numeric``, ``exists``, ``equals-ignore-case``,
``wildcard``, ``cidr``) and an exact value, each compiled once from its JSON form.

Validation messages are Event Ruler's (AWS's matcher, behind EventBridge and Lambda event
filtering), so a user sees the reason AWS would give. ``event_pattern.py`` composes these.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

import orjson

# Ruler keeps numbers it compares as fixed-point, and refuses operands outside this range.
NUMBER_LIMIT = 5.0e9
_NUMERIC_OPERATORS = ("=", "<", "<=", ">", ">=")


class InvalidEventPattern(ValueError):
    """A pattern AWS would refuse; the message is the reason, in Ruler's words."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str:
    """A JSON token as Ruler quotes it in a message: strings bare, the rest as JSON."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


def _same(expected: Any, actual: Any) -> bool:
    """Type-aware JSON equality: ``"5"`` is not ``5``, ``true`` is not ``1``, ``5 == 5.0``."""
    if expected is None or actual is None:
        return expected is actual
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    if isinstance(expected, str) or isinstance(actual, str):
        return isinstance(expected, str) and isinstance(actual, str) and expected == actual
    return bool(expected == actual)


@dataclass(frozen=True, slots=True)
class Exact:
    value: str | int | float | bool | None

    def test(self, value: Any) -> bool:
        return _same(self.value, value)


@dataclass(frozen=True, slots=True)
class Prefix:
    text: str
    ignore_case: bool = False

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return value.lower().startswith(self.text)
        return value.startswith(self.text)


@dataclass(frozen=True, slots=True)
class Suffix:
    text: str
    ignore_case: bool = False

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        if self.ignore_case:
            return value.lower().endswith(self.text)
        return value.endswith(self.text)


@dataclass(frozen=True, slots=True)
class EqualsIgnoreCase:
    text: str  # lower-cased

    def test(self, value: Any) -> bool:
        return isinstance(value, str) and value.lower() == self.text


@dataclass(frozen=True, slots=True)
class Wildcard:
    """``*`` matches any run of characters (none included); ``\\*`` and ``\\\\`` are a
    literal star and backslash. Kept as its literal segments and matched left to right with
    ``str.find``, which is linear and cannot backtrack the way a regex could."""

    segments: tuple[str, ...]  # len(segments) == number of stars + 1

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        segments = self.segments
        if len(segments) == 1:
            return value == segments[0]
        first, last = segments[0], segments[-1]
        if len(value) < len(first) + len(last):
            return False
        if not (value.startswith(first) and value.endswith(last)):
            return False
        position, end = len(first), len(value) - len(last)
        for segment in segments[1:-1]:
            found = value.find(segment, position, end)
            if found < 0:
                return False
            position = found + len(segment)
        return True


@dataclass(frozen=True, slots=True)
class Numeric:
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False

    def test(self, value: Any) -> bool:
        if not _is_number(value):
            return False
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (
            self.high is not None and (value >= self.high if self.high_open else value > self.high)
        )


@dataclass(frozen=True, slots=True)
class Cidr:
    network: ipaddress.IPv4Network | ipaddress.IPv6Network

    def test(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return address.version == self.network.version and address in self.network


@dataclass(frozen=True, slots=True)
class Exists:
    """Handled by the caller: it is about whether a field has leaves, not about one leaf."""

    exists: bool

    def test(self, value: Any) -> bool:  # pragma: no cover - never called for a leaf
        return self.exists


AnythingButKind: TypeAlias = Literal["values", "prefix", "suffix", "equals-ignore-case", "wildcard"]


@dataclass(frozen=True, slots=True)
class AnythingBut:
    """Any leaf that is not excluded. As in Ruler, a leaf of another type than the excluded
    values (a number against ``{"prefix": ...}``) is not excluded."""

    kind: AnythingButKind
    excluded: tuple[Any, ...]

    def test(self, value: Any) -> bool:
        if self.kind == "values":
            return not any(_same(x, value) for x in self.excluded)
        if self.kind == "wildcard":
            return not any(w.test(value) for w in self.excluded)
        if not isinstance(value, str):
            return True
        if self.kind == "prefix":
            return not any(value.startswith(x) for x in self.excluded)
        if self.kind == "suffix":
            return not any(value.endswith(x) for x in self.excluded)
        return value.lower() not in self.excluded


Matcher: TypeAlias = (
    Exact | Prefix | Suffix | EqualsIgnoreCase | Wildcard | Numeric | Cidr | Exists | AnythingBut
)


def compile_matcher(expression: dict[str, Any]) -> Matcher:
    """One ``{"operator": argument}`` object of a field's array."""
    if not expression:
        raise InvalidEventPattern("Match expression name not found")
    if len(expression) > 1:
        raise InvalidEventPattern("Only one key allowed in match expression")
    ((name, argument),) = expression.items()
    if name in ("prefix", "suffix"):
        return _prefix_or_suffix(name, argument)
    if name == "equals-ignore-case":
        if not isinstance(argument, str):
            raise InvalidEventPattern("equals-ignore-case match pattern must be a string")
        return EqualsIgnoreCase(argument.lower())
    if name == "wildcard":
        return compile_wildcard(argument)
    if name == "numeric":
        return compile_numeric(argument)
    if name == "exists":
        if not isinstance(argument, bool):
            raise InvalidEventPattern("exists match pattern must be either true or false.")
        return Exists(argument)
    if name == "cidr":
        return compile_cidr(argument)
    if name == "anything-but":
        return compile_anything_but(argument)
    raise InvalidEventPattern(f"Unrecognized match type {name}")


def _prefix_or_suffix(name: str, argument: Any) -> Prefix | Suffix:
    kind = Prefix if name == "prefix" else Suffix
    if isinstance(argument, str):
        return kind(argument)
    if isinstance(argument, dict) and list(argument) == ["equals-ignore-case"]:
        text = argument["equals-ignore-case"]
        if not isinstance(text, str):
            raise InvalidEventPattern("equals-ignore-case match pattern must be a string")
        return kind(text.lower(), ignore_case=True)
    if isinstance(argument, dict) and len(argument) == 1:
        raise InvalidEventPattern(f"Unsupported {name} pattern: {next(iter(argument))}")
    raise InvalidEventPattern(f"{name} match pattern must be a string")


def compile_wildcard(argument: Any) -> Wildcard:
    if not isinstance(argument, str):
        raise InvalidEventPattern("wildcard match pattern must be a string")
    segments: list[str] = []
    current: list[str] = []
    index, previous_star = 0, False
    while index < len(argument):
        char = argument[index]
        if char == "\\":
            following = argument[index + 1] if index + 1 < len(argument) else ""
            if following not in ("*", "\\"):
                raise InvalidEventPattern(f"Invalid escape character at pos {index}")
            current.append(following)
            index, previous_star = index + 2, False
            continue
        if char == "*":
            if previous_star:
                raise InvalidEventPattern(f"Consecutive wildcard characters at pos {index}")
            segments.append("".join(current))
            current, previous_star = [], True
        else:
            current.append(char)
            previous_star = False
        index += 1
    segments.append("".join(current))
    return Wildcard(tuple(segments))


def compile_numeric(argument: Any) -> Numeric:
    if not isinstance(argument, list):
        raise InvalidEventPattern("Value of numeric must be an array.")
    terms = list(argument)
    if not terms:
        raise InvalidEventPattern("Invalid member in numeric match: ]")
    operator = terms[0]
    if not isinstance(operator, str):
        raise InvalidEventPattern(f"Invalid member in numeric match: {_text(operator)}")
    if operator not in _NUMERIC_OPERATORS:
        raise InvalidEventPattern(f"Unrecognized numeric range operator: {operator}")
    first = _operand(operator, terms[1:2])
    if operator == "=":
        if len(terms) > 2:
            raise InvalidEventPattern("Too many elements in numeric expression")
        return Numeric(low=first, high=first)
    if operator in ("<", "<="):
        if len(terms) > 2:
            raise InvalidEventPattern("Too many elements in numeric expression")
        return Numeric(high=first, high_open=operator == "<")
    if len(terms) == 2:
        return Numeric(low=first, low_open=operator == ">")
    second_operator = terms[2]
    if not isinstance(second_operator, str):
        raise InvalidEventPattern(f"Bad value in numeric range: {_text(second_operator)}")
    if second_operator not in ("<", "<="):
        raise InvalidEventPattern(f"Bad numeric range operator: {second_operator}")
    second = _operand(second_operator, terms[3:4])
    if len(terms) > 4:
        raise InvalidEventPattern("Too many terms in numeric range expression")
    if second <= first:
        raise InvalidEventPattern("Bottom must be less than top")
    return Numeric(
        low=first, low_open=operator == ">", high=second, high_open=second_operator == "<"
    )


def _operand(operator: str, rest: list[Any]) -> float:
    if not rest or not _is_number(rest[0]):
        raise InvalidEventPattern(
            f"Value of {'equals' if operator == '=' else operator} must be numeric"
        )
    return _in_range(rest[0])


def _in_range(number: int | float) -> float:
    if not -NUMBER_LIMIT <= number <= NUMBER_LIMIT:
        raise InvalidEventPattern(
            f"Value must be between {-NUMBER_LIMIT} and {NUMBER_LIMIT}, inclusive"
        )
    return float(number)


def compile_cidr(argument: Any) -> Cidr:
    if not isinstance(argument, str):
        raise InvalidEventPattern("prefix match pattern must be a string")  # sic, as Ruler
    address, slash, mask = argument.partition("/")
    if not slash or "/" in mask:
        raise InvalidEventPattern("Malformed CIDR, one '/' required")
    if not mask.isdigit():
        raise InvalidEventPattern("Malformed CIDR, mask bits must be an integer")
    try:
        network = ipaddress.ip_network(argument, strict=False)
    except ValueError:
        raise InvalidEventPattern(f"Nonstandard IP address: {address}") from None
    return Cidr(network)


def compile_anything_but(argument: Any) -> AnythingBut:
    if isinstance(argument, dict):
        return _anything_but_operator(argument)
    if isinstance(argument, str) or _is_number(argument):
        return AnythingBut("values", (_checked_excluded(argument),))
    if not isinstance(argument, list):
        raise InvalidEventPattern(
            "Value of anything-but must be an array or single string/number value."
        )
    for value in argument:
        if not (isinstance(value, str) or _is_number(value)):
            raise InvalidEventPattern(
                "Inside anything but list, start|null|boolean is not supported."
            )
    strings = sum(isinstance(v, str) for v in argument)
    if not argument or 0 < strings < len(argument):
        raise InvalidEventPattern(
            "Inside anything but list, either all values are number or string, mixed type "
            "is not supported"
        )
    return AnythingBut("values", tuple(_checked_excluded(v) for v in argument))


def _checked_excluded(value: str | int | float) -> str | int | float:
    if not isinstance(value, str):
        _in_range(value)
    return value


def _anything_but_operator(argument: dict[str, Any]) -> AnythingBut:
    if not argument:
        raise InvalidEventPattern("Anything-But expression name not found")
    if len(argument) > 1:
        raise InvalidEventPattern("Only one key allowed in match expression")
    ((name, value),) = argument.items()
    if name in ("prefix", "suffix"):
        if not isinstance(value, str):
            raise InvalidEventPattern("prefix/suffix match pattern must be a string")
        if not value:
            raise InvalidEventPattern("Null prefix/suffix not allowed")
        return AnythingBut("prefix" if name == "prefix" else "suffix", (value,))
    if name == "equals-ignore-case":
        texts = value if isinstance(value, list) else [value]
        if not texts or not all(isinstance(t, str) for t in texts):
            raise InvalidEventPattern(
                "Inside anything-but/equals-ignore-case list, number|start|null|boolean is "
                "not supported."
            )
        return AnythingBut("equals-ignore-case", tuple(t.lower() for t in texts))
    if name == "wildcard":
        patterns = value if isinstance(value, list) else [value]
        if not patterns:
            raise InvalidEventPattern("wildcard match pattern must be a string")
        return AnythingBut("wildcard", tuple(compile_wildcard(p) for p in patterns))
    raise InvalidEventPattern(f"Unsupported anything-but pattern: {name}")
