"""Which stage and which route of an HTTP API a request is for (pure), as API Gateway decides
("Working with routes for HTTP APIs", "Working with stages for HTTP APIs"):

- A route key is ``$default`` or ``METHOD /path``: METHOD is one of ``ANY GET POST PUT PATCH
  DELETE HEAD OPTIONS``; each path segment is a literal, a path variable ``{name}`` (one whole
  segment) or, last, a greedy variable ``{name+}`` (one segment or more).
- A named stage is the first path segment (``/<stage>/...``); the ``$default`` stage serves at
  the root, for any path whose first segment names no other stage.
- Routing picks the most specific match: exact paths before paths with variables (at the
  first segment where two routes differ, a literal beats a variable), greedy variables last
  (the longer literal prefix first); for the same path a route of the request's own method
  before ``ANY``; ``$default`` catches whatever no other route matches. Variables never match
  an empty segment, and a greedy variable needs at least one character.
- Path variables are percent-decoded (``/items/a%20b`` gives ``{"id": "a b"}``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

DEFAULT = "$default"
METHODS = ("ANY", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_VARIABLE = re.compile(r"^\{([A-Za-z0-9_.-]+)(\+?)\}$")
_LITERAL = re.compile(r"^[^{}\s]+$")
MAX_KEY = 1024  # route keys API Gateway accepts are at most this long (SelectionKey)


class RouteKeyError(ValueError):
    """A route key API Gateway would refuse; the message says what to fix."""


@dataclass(frozen=True)
class Segment:
    text: str  # the literal, or the variable's name
    kind: int  # 0 literal, 1 variable, 2 greedy variable (the order of precedence)


@dataclass(frozen=True)
class RouteTemplate:
    key: str  # as given: "$default" or "GET /items/{id}"
    method: str  # "" for $default
    segments: tuple[Segment, ...]

    @property
    def path(self) -> str:
        """The route's path ("/items/{id}"), or "$default"."""
        if not self.method:
            return DEFAULT
        return "/" + "/".join(
            {0: s.text, 1: f"{{{s.text}}}", 2: f"{{{s.text}+}}"}[s.kind] for s in self.segments
        )

    @property
    def greedy(self) -> bool:
        return bool(self.segments) and self.segments[-1].kind == 2


@dataclass(frozen=True)
class RouteMatch:
    route: RouteTemplate
    path_parameters: Mapping[str, str]


def parse_route_key(key: str) -> RouteTemplate:
    """The template of a route key; RouteKeyError when API Gateway would refuse it."""
    if key == DEFAULT:
        return RouteTemplate(key, "", ())
    if len(key) > MAX_KEY:
        raise RouteKeyError(f"The route key is longer than {MAX_KEY} characters.")
    method, space, path = key.partition(" ")
    if not space or method not in METHODS:
        raise RouteKeyError(
            f"Route key '{key}' is not valid: use '$default' or 'METHOD /path' with METHOD "
            f"one of {', '.join(METHODS)} (upper case), e.g. 'GET /items/{{id}}'."
        )
    if not path.startswith("/"):
        raise RouteKeyError(f"Route key '{key}' is not valid: the path must start with '/'.")
    parts = path[1:].split("/") if path != "/" else []
    segments: list[Segment] = []
    names: set[str] = set()
    for index, part in enumerate(parts):
        variable = _VARIABLE.match(part)
        if variable is not None:
            name, plus = variable.groups()
            if plus and index != len(parts) - 1:
                raise RouteKeyError(
                    f"Route key '{key}' is not valid: a greedy path variable ({{{name}+}}) "
                    "must be the last segment."
                )
            if name in names:
                raise RouteKeyError(
                    f"Route key '{key}' is not valid: path variable '{name}' appears twice."
                )
            names.add(name)
            segments.append(Segment(name, 2 if plus else 1))
        elif _LITERAL.match(part):
            segments.append(Segment(part, 0))
        else:
            raise RouteKeyError(
                f"Route key '{key}' is not valid: segment '{part}' must be a literal without "
                "braces or spaces, or a whole-segment variable like {id} or {proxy+} "
                "(and no segment may be empty)."
            )
    return RouteTemplate(key, method, tuple(segments))


def stage_of(raw_path: str, stages: Collection[str]) -> tuple[str, str] | None:
    """(stage, the path below it) a request is for; None when no stage serves it. A named
    stage is the path's first segment; ``$default`` serves everything else at the root."""
    first, _, rest = raw_path.removeprefix("/").partition("/")
    name = unquote(first)
    if first and name != DEFAULT and name in stages:
        return name, "/" + rest
    if DEFAULT in stages:
        return DEFAULT, raw_path or "/"
    return None


def _bind(route: RouteTemplate, parts: list[str]) -> dict[str, str] | None:
    """The path parameters of ``parts`` (raw segments) under ``route``, or None."""
    segments = route.segments
    if route.greedy:
        if len(parts) < len(segments):
            return None
    elif len(parts) != len(segments):
        return None
    values: dict[str, str] = {}
    for index, segment in enumerate(segments):
        if segment.kind == 2:
            rest = "/".join(parts[index:])
            if not rest:
                return None
            values[segment.text] = unquote(rest)
            return values
        part = unquote(parts[index])
        if segment.kind == 0:
            if part != segment.text:
                return None
        elif not part:
            return None
        else:
            values[segment.text] = part
    return values


def match_route(routes: Iterable[RouteTemplate], method: str, path: str) -> RouteMatch | None:
    """The route ``method path`` (the path below the stage, as sent) is for, or None."""
    parts = path.removeprefix("/").split("/") if path not in ("", "/") else []
    best: tuple[tuple[int, tuple[int, ...], int], RouteMatch] | None = None
    fallback: RouteTemplate | None = None
    for route in routes:
        if not route.method:
            fallback = route
            continue
        if route.method not in (method, "ANY"):
            continue
        values = _bind(route, parts)
        if values is None:
            continue
        rank = (
            int(route.greedy),
            tuple(segment.kind for segment in route.segments),
            int(route.method == "ANY"),
        )
        if best is None or rank < best[0]:
            best = (rank, RouteMatch(route, values))
    if best is not None:
        return best[1]
    return None if fallback is None else RouteMatch(fallback, {})
