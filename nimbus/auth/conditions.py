"""IAM's ``Condition`` element and the wildcard/variable strings every policy element uses: pure.

AWS's rules (IAM user guide, "IAM JSON policy elements: Condition operators", "Creating a
condition with multiple context keys or values", "Single-valued vs. multivalued context keys",
"IAM policy elements: Variables and tags"):

- A ``Condition`` block maps operators to ``{key: value | [values]}``. Every operator and every
  key in it must hold (AND); the values listed for one key are alternatives (OR). For a negated
  operator (``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike``, ...) the request value must
  match *none* of them (NOR).
- Condition keys are case-insensitive (``aws:SourceArn`` = ``AWS:sourcearn``); string values are
  compared case-sensitively unless the operator says ``IgnoreCase``.
- A key missing from the request makes a positive operator false and a negated one true
  ("If the policy condition requires that the key is not matched, such as StringNotLike, and
  the key is not present, the condition can return true"). ``...IfExists`` makes any operator
  true when the key is missing; ``Null`` tests presence itself (``true``: the key is absent).
- ``ForAnyValue:`` holds when at least one request value satisfies the operator (false when the
  key is missing); ``ForAllValues:`` when every request value does (true when the key is missing
  or empty — AWS's documented trap, reproduced).
- ``StringLike``/``ArnLike`` take ``*`` and ``?`` wildcards, and string and ARN values take
  policy variables (``wildcards.py``). ``ArnEquals`` and ``ArnLike`` behave the same, as on
  AWS; a request value that is not an ARN matches neither.
- Dates are ISO 8601 (``2026-01-01``, ``2026-01-01T00:00:00Z``) or epoch seconds; numbers are
  integers or decimals; ``IpAddress`` takes addresses or CIDR blocks, v4 or v6.

An operator IAM does not know, or a value its operator cannot read (a date that is not a date),
is a malformed policy when the document is stored, never a surprise at request time.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nimbus.auth.wildcards import Context, ContextScalar, Template, scalar_text

SYNTAX = "Syntax errors in policy."
LEGACY = "The policy failed legacy parsing"


class MalformedPolicyError(Exception):
    """A policy document IAM would refuse; ``message`` is what the caller puts on the wire
    (IAM's ``MalformedPolicyDocument``, Lambda's ``InvalidParameterValueException``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def syntax_error(detail: str) -> MalformedPolicyError:
    # IAM only says "Syntax errors in policy."; the second sentence says what to fix.
    return MalformedPolicyError(f"{SYNTAX} {detail}")


# ---------------------------------------------------------------------------------------------
# Request values


def parse_date(text: str) -> float | None:
    """Epoch seconds of an IAM date (ISO 8601 date or date-time, or epoch seconds)."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:  # IAM reads a date without a zone as UTC
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


def _as_number(value: ContextScalar) -> float | None:
    if isinstance(value, bool | bytes):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return None


def _as_date(value: ContextScalar) -> float | None:
    if isinstance(value, bool | bytes):
        return None
    if isinstance(value, int | float):
        return float(value)
    return parse_date(value)


# ---------------------------------------------------------------------------------------------
# Operators

# A positive test: does one request value match one of the clause's policy values?
Test = Callable[[ContextScalar, Context], bool]

_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "Equals": lambda a, b: a == b,
    "LessThan": lambda a, b: a < b,
    "LessThanEquals": lambda a, b: a <= b,
    "GreaterThan": lambda a, b: a > b,
    "GreaterThanEquals": lambda a, b: a >= b,
}


def _string_test(values: Sequence[str], *, variables: bool, ignore_case: bool, like: bool) -> Test:
    if not like and not variables:
        wanted = frozenset(v.lower() for v in values) if ignore_case else frozenset(values)
        if ignore_case:
            return lambda value, _ctx: scalar_text(value).lower() in wanted
        return lambda value, _ctx: scalar_text(value) in wanted
    templates = tuple(
        Template.of(v, arn=False, wildcards=like, variables=variables, ignore_case=ignore_case)
        for v in values
    )
    return lambda value, ctx: any(t.match(scalar_text(value), ctx) for t in templates)


def _arn_test(values: Sequence[str], *, variables: bool) -> Test:
    templates = tuple(Template.of(v, arn=True, wildcards=True, variables=variables) for v in values)

    def test(value: ContextScalar, ctx: Context) -> bool:
        text = scalar_text(value)
        # A value that is not an ARN (six colon-separated parts) never matches an Arn operator.
        if text.count(":") < 5:
            return False
        return any(t.match(text, ctx) for t in templates)

    return test


def _numeric_test(operator: str, compare: str, values: Sequence[str]) -> Test:
    numbers: list[float] = []
    for v in values:
        try:
            numbers.append(float(v))
        except ValueError:
            raise syntax_error(f"{operator} needs numbers; {v!r} is not one.") from None
    op = _COMPARE[compare]

    def test(value: ContextScalar, _ctx: Context) -> bool:
        number = _as_number(value)
        return number is not None and any(op(number, n) for n in numbers)

    return test


def _date_test(compare: str, values: Sequence[str]) -> Test:
    dates: list[float] = []
    for v in values:
        when = parse_date(v)
        if when is None:
            raise MalformedPolicyError(LEGACY)  # IAM's answer for a date it cannot read
        dates.append(when)
    op = _COMPARE[compare]

    def test(value: ContextScalar, _ctx: Context) -> bool:
        when = _as_date(value)
        return when is not None and any(op(when, d) for d in dates)

    return test


def _ip_test(operator: str, values: Sequence[str]) -> Test:
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for v in values:
        try:
            networks.append(ipaddress.ip_network(v.strip(), strict=False))
        except ValueError:
            raise syntax_error(
                f"{operator} needs IP addresses or CIDR blocks; {v!r} is not one."
            ) from None

    def test(value: ContextScalar, _ctx: Context) -> bool:
        try:
            address = ipaddress.ip_address(scalar_text(value).strip())
        except ValueError:
            return False
        return any(address.version == n.version and address in n for n in networks)

    return test


def _bool_test(values: Sequence[str]) -> Test:
    wanted = frozenset(v.lower() for v in values)
    return lambda value, _ctx: scalar_text(value).lower() in wanted


def _binary_test(values: Sequence[str]) -> Test:
    # Policy values are base64; a request's binary value is compared by its bytes.
    wanted = frozenset(values)
    return lambda value, _ctx: scalar_text(value) in wanted


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_POSITIVE = frozenset(
    {
        "StringEquals",
        "StringEqualsIgnoreCase",
        "StringLike",
        "Bool",
        "BinaryEquals",
        "IpAddress",
        "ArnEquals",
        "ArnLike",
        "Null",
    }
    | {f"Numeric{c}" for c in _COMPARE}
    | {f"Date{c}" for c in _COMPARE}
)
OPERATORS = frozenset(_POSITIVE | set(_NEGATED))
_BY_LOWER = {name.lower(): name for name in OPERATORS}


def _test(operator: str, base: str, values: Sequence[str], *, variables: bool) -> Test:
    if base.startswith("String"):
        return _string_test(
            values,
            variables=variables,
            ignore_case=base.endswith("IgnoreCase"),
            like=base == "StringLike",
        )
    if base.startswith("Arn"):
        return _arn_test(values, variables=variables)
    if base.startswith("Numeric"):
        return _numeric_test(operator, base.removeprefix("Numeric"), values)
    if base.startswith("Date"):
        return _date_test(base.removeprefix("Date"), values)
    if base == "IpAddress":
        return _ip_test(operator, values)
    if base == "Bool":
        return _bool_test(values)
    return _binary_test(values)


@dataclass(frozen=True, slots=True)
class Clause:
    """One ``operator: {key: values}`` pair of a Condition block."""

    operator: str  # as written, e.g. "ForAllValues:StringLikeIfExists"
    key: str  # lower-cased
    values: tuple[str, ...]
    negated: bool
    if_exists: bool
    set_operator: str  # "", "ForAnyValue" or "ForAllValues"
    null: bool | None  # Null's expectation (True: the key must be absent); None otherwise
    test: Test = field(compare=False, repr=False)

    def holds(self, context: Context) -> bool:
        present = context.get(self.key, ())
        if self.null is not None:
            return (not present) is self.null
        if not present:
            if self.if_exists or self.set_operator == "ForAllValues":
                return True
            if self.set_operator == "ForAnyValue":
                return False
            return self.negated
        test = self.test
        if self.set_operator == "ForAllValues":
            return all(test(v, context) is not self.negated for v in present)
        if self.set_operator == "ForAnyValue":
            return any(test(v, context) is not self.negated for v in present)
        matched = any(test(v, context) for v in present)
        return not matched if self.negated else matched


def _values(operator: str, key: str, raw: object) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    out: list[str] = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, str | int | float):
            out.append(str(item))
        else:
            raise syntax_error(
                f"The values of {key} under {operator} must be strings, numbers or booleans."
            )
    return tuple(out)


def parse_operator(written: str) -> tuple[str, str, bool]:
    """(set operator, base operator, IfExists) of an operator as written; raises
    MalformedPolicyError for one IAM does not know."""
    set_operator, _, rest = written.rpartition(":")
    if set_operator and set_operator.lower() not in ("foranyvalue", "forallvalues"):
        raise syntax_error(
            f"Unknown set operator {set_operator!r}: use ForAnyValue or ForAllValues."
        )
    if set_operator:
        set_operator = "ForAnyValue" if set_operator.lower() == "foranyvalue" else "ForAllValues"
    if_exists = rest.lower().endswith("ifexists") and rest.lower() != "ifexists"
    base = _BY_LOWER.get((rest[: -len("IfExists")] if if_exists else rest).lower())
    if base is None or (base == "Null" and (if_exists or set_operator)):
        raise syntax_error(f"Unknown condition operator {written!r}.")
    return set_operator, base, if_exists


def parse_conditions(block: object, *, variables: bool) -> tuple[Clause, ...]:
    """The clauses of a statement's ``Condition`` element (``variables``: a 2012-10-17
    policy, whose ``${...}`` are substituted)."""
    if not isinstance(block, dict):
        raise syntax_error("Condition must be an object of operators.")
    clauses: list[Clause] = []
    for written, keys in block.items():
        set_operator, base, if_exists = parse_operator(str(written))
        if not isinstance(keys, dict):
            raise syntax_error(f"Condition operator {written} must map keys to values.")
        for key, raw in keys.items():
            values = _values(written, key, raw)
            null: bool | None = None
            if base == "Null":
                null = all(v.lower() == "true" for v in values) if values else True
            positive = _NEGATED.get(base, base)
            clauses.append(
                Clause(
                    operator=written,
                    key=str(key).lower(),
                    values=values,
                    negated=base in _NEGATED,
                    if_exists=if_exists,
                    set_operator=set_operator,
                    null=null,
                    test=_test(written, positive, values, variables=variables)
                    if base != "Null"
                    else _binary_test(values),
                )
            )
    return tuple(clauses)


def all_hold(clauses: Sequence[Clause], context: Context) -> bool:
    return all(clause.holds(context) for clause in clauses)
