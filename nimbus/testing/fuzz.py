"""Generated bad requests for every API route, from botocore's service models.

Nimbus has no OpenAPI document: its wire contract is botocore's models (lambda's restJson,
SQS's JSON protocol, SNS's query protocol). This module is the ``schemathesis`` equivalent
over them: ``route_cases`` pairs each Starlette route with the botocore operation it
implements (by method and URI template, so a new route is fuzzed as soon as it is routed),
and the strategies build requests that are mostly well-formed with one thing wrong — a field
of the wrong type, a number out of range, a hostile path segment, an undecodable body — since
that is what reaches past the first check into the code behind it.

What a response must look like is ``nimbus.testing.wire_oracle``'s job.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from hypothesis import strategies as st
from starlette.routing import BaseRoute, Route

Known = Mapping[str, Sequence[Any]]  # botocore member (or path parameter) name -> real values
_PARAM = re.compile(r"\{[^}]+\}")
MAX_DEPTH = 4


@dataclass(frozen=True)
class RouteCase:
    """One (method, route) to fuzz; ``operation`` is the botocore operation it implements, or
    None for Nimbus's own routes (``/_nimbus/...``, ``/metrics``)."""

    method: str
    template: str  # Starlette's path, e.g. /2015-03-31/functions/{name}/configuration
    name: str
    params: tuple[str, ...]  # the template's path parameters, in order
    operation: str | None
    operation_params: tuple[str, ...]  # the botocore names of those parameters, in order

    @property
    def id(self) -> str:
        return f"{self.method} {self.template}"


def _shape_of(template: str) -> str:
    return _PARAM.sub("{}", template.split("?", 1)[0]).rstrip("/") or "/"


def route_cases(routes: Iterable[BaseRoute], model: Any) -> tuple[RouteCase, ...]:
    """Every (method, route) of ``routes`` but HEAD (no body to check), with the operation of
    ``model`` (lambda's botocore ServiceModel) whose method and request URI it serves."""
    by_shape: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {}
    for op_name in model.operation_names:
        http = model.operation_model(op_name).http
        uri = http["requestUri"]
        params = tuple(p.strip("{}+") for p in _PARAM.findall(uri.split("?", 1)[0]))
        by_shape.setdefault((http["method"], _shape_of(uri)), (op_name, params))
    cases: dict[tuple[str, str], RouteCase] = {}
    for route in routes:
        if not isinstance(route, Route):
            continue
        params = tuple(route.param_convertors)
        for method in sorted((route.methods or set()) - {"HEAD"}):
            op, op_params = by_shape.get((method, _shape_of(route.path)), (None, params))
            key = (method, route.path)
            cases.setdefault(key, RouteCase(method, route.path, route.name, params, op, op_params))
    return tuple(cases.values())


# --- values from shapes --------------------------------------------------------------------

HUGE_INTS = (2**31, 2**63, 2**64 + 1, 10**30, -(2**63) - 1, -1, 0)


def long_text() -> st.SearchStrategy[str]:
    # Built by a map, not listed: a strategy's repr holds its literals, and hypothesis warns
    # (an error here) about reprs of tens of kilobytes.
    return st.sampled_from((65, 300, 5_000, 20_000)).map(lambda n: "x" * n)


HOSTILE_TEXT = (
    "",
    " ",
    "..",
    "../../etc/passwd",
    "\u00e9\u4e2d\U0001f600",
    "\u0000",
    "%00",
    "${jndi:x}",
    "<x>&amp;</x>",
    "null",
    "1e400",
    "-0",
)


def junk() -> st.SearchStrategy[Any]:
    """A JSON value of any type: what a field of another type meets when mutated."""
    return _JUNK


def _junk() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.sampled_from(HUGE_INTS),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.sampled_from((1e308, -1e308, 0.5)),
        st.sampled_from(HOSTILE_TEXT),
        long_text(),
        st.text(max_size=20),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


_JUNK = _junk()  # built once: every value of every shape draws from it
# Header values HTTP allows (RFC 9110 field-vchar, obs-text and spaces between): control
# characters and DEL are refused by the HTTP parser before any route sees them.
_HEADER_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")


def _valid(shape: Any, name: str, known: Known, depth: int) -> st.SearchStrategy[Any]:
    meta = shape.metadata
    kind = shape.type_name
    if name in known and kind in ("string", "blob", "integer", "long"):
        return st.sampled_from(list(known[name]))
    if kind == "string":
        if shape.enum:
            return st.sampled_from(list(shape.enum))
        alphabet = _HEADER_CHARS if shape.serialization.get("location") == "header" else None
        # At least one character: an empty string is the commonest junk, and junk() has it.
        low, high = max(meta.get("min", 1), 1), min(meta.get("max", 64), 64)
        chars = st.characters() if alphabet is None else alphabet
        return st.text(chars, min_size=min(low, high), max_size=high)
    if kind in ("integer", "long"):
        return st.integers(meta.get("min", 0), min(meta.get("max", 1000), 1000))
    if kind in ("double", "float"):
        return st.floats(0, 1000)
    if kind == "boolean":
        return st.booleans()
    if kind == "blob":
        return st.sampled_from(("", "e30=", "not base64!", "AAAA"))
    if kind == "timestamp":
        return st.sampled_from(("2020-01-01T00:00:00Z", "yesterday", 0))
    if depth >= MAX_DEPTH:
        return st.none()
    if kind == "list":
        return st.lists(value(shape.member, name, known, depth + 1), max_size=3)
    if kind == "map":
        return st.dictionaries(
            st.one_of(
                _valid(shape.key, "", known, depth + 1), st.sampled_from(HOSTILE_TEXT), long_text()
            ),
            value(shape.value, "", known, depth + 1),
            max_size=3,
        )
    return structure(shape, known, depth + 1)


def value(shape: Any, name: str, known: Known, depth: int = 0) -> st.SearchStrategy[Any]:
    """A value for member ``name`` of ``shape``: valid four times in five, else junk."""
    valid = _valid(shape, name, known, depth)
    return st.one_of(valid, valid, valid, valid, junk())


def structure(
    shape: Any, known: Known, depth: int = 0, *, members: Iterable[str] | None = None
) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object for a structure shape: its required members (usually), some optional
    ones, and now and then a member no model has."""
    names = list(shape.members) if members is None else list(members)
    required = [n for n in names if n in shape.required_members]
    optional = [n for n in names if n not in required]
    # A few optional members each time, drawn as (name, value) pairs: generating a value for
    # every member a large shape has (CreateFunction: 30) only to leave most out is slow.
    pairs = [st.tuples(st.just(n), value(shape.members[n], n, known, depth)) for n in optional]
    pairs.append(st.tuples(st.sampled_from(("Unknown", "__proto__", "")), junk()))
    return st.builds(
        _merge,
        st.fixed_dictionaries({n: value(shape.members[n], n, known, depth) for n in required}),
        st.lists(st.one_of(*pairs), max_size=4),
        # A required member left out, one time in four.
        st.one_of(
            st.just([]),
            st.just([]),
            st.just([]),
            st.lists(st.sampled_from(required), min_size=1, max_size=1),
        )
        if required
        else st.just([]),
    )


def _merge(
    required: dict[str, Any], optional: list[tuple[str, Any]], drop: list[str]
) -> dict[str, Any]:
    merged = {**required, **dict(optional)}
    for key in drop:  # a required member left out
        merged.pop(key, None)
    return merged


# --- bodies --------------------------------------------------------------------------------

BAD_BODIES = (
    b"",
    b"{",
    b"[]",
    b'"text"',
    b"null",
    b"123",
    b"\xff\xfe\x00{",
    b'{"a": "\xff"}',
    b"[" * 5000,
    b'{"a":' * 2000,
    b'{"x": 1e999999}',
    b'{"a": 1, "a": {}}',
    b"Action=Publish&Message=%ZZ",
)


def json_bytes(value: Any) -> bytes:
    # The stdlib encoder, not orjson: it writes integers past 64 bits, which a client may send.
    return json.dumps(value).encode()


def body(input_shape: Any | None, known: Known, members: Iterable[str]) -> st.SearchStrategy[bytes]:
    """A request body: a JSON object from the operation's body members (mutated), or junk."""
    bad = st.one_of(st.sampled_from(BAD_BODIES), st.binary(max_size=64))
    if input_shape is None:
        return st.one_of(bad, junk().map(json_bytes))
    good = structure(input_shape, known, members=members).map(json_bytes)
    return st.one_of(good, good, good, bad)


# --- paths, queries, headers ---------------------------------------------------------------

HOSTILE_SEGMENTS = (
    "..",
    ".",
    "%2e%2e",
    "%2F",
    "%2f..%2f",
    "%00",
    "%ZZ",
    "%",
    "%e9",
    "%C0%AF",
    "fn:",
    ":",
    "fn:1:2:3",
    "arn:aws:lambda:us-east-1:000000000000:function:",
    "arn:aws:lambda:us-east-1:111111111111:function:other",
    "arn:aws:lambda:xx:000000000000:function:fuzz:$LATEST",
    "000000000000:function:x:y",
    "%24LATEST",
    "-",
    "_",
)


def _encoded(text: str) -> str:
    # A lone surrogate goes as the bytes CESU-8 would give it: percent-encoded invalid UTF-8,
    # which a client can send and the server must decode without failing.
    return quote(text, safe="", errors="surrogatepass")


def segment(name: str, known: Known) -> st.SearchStrategy[str]:
    """A raw (already percent-encoded) path segment for parameter ``name``."""
    real = st.sampled_from([quote(str(v), safe=":$") for v in known.get(name, ())] or ["x"])
    return st.one_of(
        real,
        real,
        st.from_regex(r"\A[A-Za-z0-9_-]{1,64}\Z"),
        st.sampled_from(HOSTILE_SEGMENTS),
        st.sampled_from((65, 300, 5_000)).map(lambda n: "a" * n),
        st.text(min_size=1, max_size=30).map(_encoded),
    )


def _text_of(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


QUERY_JUNK = (
    "",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e5",
    "0x10",
    " 5",
    "abc",
    "$LATEST",
    "\u00e9",
    "%ZZ",
    "true",
)


def query(
    members: Mapping[str, tuple[str, Any]], known: Known
) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Query parameters: the operation's (wire name -> (member name, shape)), valid or junk
    values, unknown ones, repeated ones."""
    pair_strategies = [
        st.tuples(
            st.just(wire),
            st.one_of(
                _valid(shape, member, known, MAX_DEPTH).map(_text_of),
                st.sampled_from(QUERY_JUNK),
            ),
        )
        for wire, (member, shape) in members.items()
    ]
    unknown = st.tuples(st.sampled_from(("Foo", "", "MaxItems[]", "x" * 200)), st.text(max_size=8))
    return st.lists(st.one_of(*pair_strategies, unknown), max_size=5)


def encode_query(pairs: Sequence[tuple[str, str]]) -> str:
    # Junk like "%ZZ" goes as it is (undecodable on purpose); the rest is encoded.
    return "&".join(f"{_encoded(k)}={v if v == '%ZZ' else _encoded(v)}" for k, v in pairs)


CONTENT_TYPES = (
    "application/json",
    "application/x-amz-json-1.0",
    "application/x-amz-json-1.1",
    "application/x-www-form-urlencoded",
    "application/x-www-form-urlencoded; charset=utf-8",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/octet-stream",
    "a/b;;;=",
    "",
)
_HEADER_TEXT = st.text(_HEADER_CHARS, max_size=40).map(str.strip)


def headers(
    members: Mapping[str, tuple[str, Any]], known: Known, *, target: Sequence[str] = ()
) -> st.SearchStrategy[dict[str, str]]:
    """Headers: the operation's own (valid or junk), a Content-Type, and junk X-Amz-*."""
    own = {
        wire: st.one_of(_valid(shape, member, known, MAX_DEPTH).map(_text_of), _HEADER_TEXT)
        for wire, (member, shape) in members.items()
    }
    optional: dict[str, st.SearchStrategy[str]] = {
        **own,
        "Content-Type": st.sampled_from(CONTENT_TYPES),
        "X-Amz-Date": _HEADER_TEXT,
        "X-Amz-Security-Token": _HEADER_TEXT,
        "X-Amz-Content-Sha256": _HEADER_TEXT,
        "Authorization": _HEADER_TEXT,
        "X-Amz-Invocation-Type": st.one_of(
            st.sampled_from(("Event", "DryRun", "RequestResponse")), _HEADER_TEXT
        ),
    }
    if target:
        optional["X-Amz-Target"] = st.one_of(st.sampled_from(list(target)), _HEADER_TEXT)
    return st.fixed_dictionaries({}, optional=optional)


def located(input_shape: Any | None, location: str) -> dict[str, tuple[str, Any]]:
    """The input members serialised at ``location`` ("querystring", "header", "uri"): wire
    name -> (member name, shape)."""
    if input_shape is None:
        return {}
    return {
        m.serialization.get("name", n): (n, m)
        for n, m in input_shape.members.items()
        if m.serialization.get("location") == location
    }


def body_members(input_shape: Any | None) -> list[str]:
    if input_shape is None:
        return []
    return [n for n, m in input_shape.members.items() if "location" not in m.serialization]


# --- the query protocol's form encoding (SNS) ----------------------------------------------


def flatten_query(shape: Any, value: Any, prefix: str, out: list[tuple[str, str]]) -> None:
    """``value`` serialised as the query protocol does for ``shape`` (lists as .member.N, maps
    as .entry.N.<key name>/<value name>); a value of the wrong type goes as its JSON text."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        for key, item in value.items():
            member = shape.members.get(key)
            name = f"{prefix}.{key}" if prefix else key
            if member is None:
                out.append((name, _text_of(item)))
            else:
                flatten_query(member, item, name, out)
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value, 1):
            flatten_query(shape.member, item, f"{prefix}.member.{i}", out)
    elif kind == "map" and isinstance(value, dict):
        key_name = shape.key.serialization.get("name", "key")
        value_name = shape.value.serialization.get("name", "value")
        for i, (key, item) in enumerate(value.items(), 1):
            out.append((f"{prefix}.entry.{i}.{key_name}", _text_of(key)))
            flatten_query(shape.value, item, f"{prefix}.entry.{i}.{value_name}", out)
    elif value is not None:
        out.append((prefix, _text_of(value) if not isinstance(value, bool) else str(value).lower()))
