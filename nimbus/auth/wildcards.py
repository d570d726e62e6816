"""Policy strings with ``*``/``?`` wildcards and ``${...}`` policy variables, matched against
request values: pure, compiled once.

AWS's rules (IAM user guide, "IAM JSON policy elements: Resource", "IAM policy elements:
Variables and tags"): ``*`` is any run of characters and ``?`` one character; in an ARN a
wildcard stays within its colon-separated segment, except in the last (resource) segment,
which may itself hold colons (``function:name:alias``). In ``2012-10-17`` policies
``${aws:username}`` is the request's value of that key (``${key, 'default'}`` gives a default;
``${*}``, ``${?}`` and ``${$}`` are the literal characters); a variable whose key the request
lacks, or holds several values for, makes the string match nothing.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache

ContextScalar = str | int | float | bool | bytes
# A request's context: lower-cased keys, each with its values (one for a single-valued key).
Context = Mapping[str, tuple[ContextScalar, ...]]


def scalar_text(value: ContextScalar) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


_TOKEN = re.compile(r"\$\{([^}]*)\}|[*?:]|[^*?:$]+|\$")
_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


def _variable(body: str, context: Context) -> str | None:
    """The value of ``${body}`` for this request, or None when the request has none."""
    if body in _SPECIAL:
        return _SPECIAL[body]
    default: str | None = None
    found = _DEFAULT.match(body)
    if found:
        body, default = found.group(1), found.group(2)
    values = context.get(body.strip().lower(), ())
    if len(values) != 1:  # absent, or multivalued: AWS substitutes single values only
        return default
    return scalar_text(values[0])


def _pattern(text: str, *, arn: bool, wildcards: bool, context: Context | None) -> str | None:
    """``text`` as a regular expression; None when a variable has no value. ``context`` None
    means variables are not substituted (a 2008-10-17 policy: they are literal text)."""
    parts: list[str] = []
    segment = 0
    # Wildcards in the pattern's last segment span colons, whichever segment that is ("*" alone,
    # "arn:aws:lambda:*"): fewer segments than an ARN's six means "and the rest".
    last = min(5, sum(1 for t in _TOKEN.finditer(text) if t.group(0) == ":"))
    for token in _TOKEN.finditer(text):
        literal = token.group(0)
        body = token.group(1)
        if body is not None and context is not None:
            value = _variable(body, context)
            if value is None:
                return None
            parts.append(re.escape(value))
        elif wildcards and literal == "*":
            parts.append("[^:]*" if arn and segment < last else ".*")
        elif wildcards and literal == "?":
            parts.append("[^:]" if arn and segment < last else ".")
        else:
            segment += literal == ":"
            parts.append(re.escape(literal))
    return "".join(parts)


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.DOTALL)


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string matched against request values: wildcards (``*``, ``?``) and, in
    2012-10-17 policies, variables. Compiled once when it has no variables."""

    text: str
    arn: bool = False  # wildcards stay within an ARN segment (Resource, Arn* operators)
    wildcards: bool = True
    variables: bool = False  # substitute ${...} (2012-10-17 and the text has one)
    ignore_case: bool = False
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    @staticmethod
    def of(
        text: str, *, arn: bool, wildcards: bool, variables: bool, ignore_case: bool = False
    ) -> Template:
        substitute = variables and "${" in text
        source = text.lower() if ignore_case else text
        regex = None
        if not substitute:
            pattern = _pattern(source, arn=arn, wildcards=wildcards, context=None)
            assert pattern is not None  # without substitution there is always a pattern
            regex = _compiled(pattern)
        return Template(text, arn, wildcards, substitute, ignore_case, regex)

    @property
    def matches_everything(self) -> bool:
        return self.wildcards and self.text == "*"

    def match(self, value: str, context: Context) -> bool:
        if self.ignore_case:
            value = value.lower()
        regex = self._regex
        if regex is None:
            pattern = _pattern(self.text, arn=self.arn, wildcards=self.wildcards, context=context)
            if pattern is None:
                return False
            regex = _compiled(pattern.lower() if self.ignore_case else pattern)
        return regex.fullmatch(value) is not None
