"""HTTP API route keys, stage selection and route matching (pure), as API Gateway routes."""

from __future__ import annotations

import pytest

from nimbus.web.api_routes import RouteKeyError, match_route, parse_route_key, stage_of

KEYS = (
    "GET /pets/dog/1",
    "GET /pets/dog/{id}",
    "GET /pets/{proxy+}",
    "ANY /{proxy+}",
    "ANY /pets/dog/{id}",
    "GET /{a}/cat/{b}",
    "GET /pets/{x}/{y}",
    "GET /",
    "$default",
)
ROUTES = tuple(parse_route_key(key) for key in KEYS)


def _key(method: str, path: str) -> str | None:
    found = match_route(ROUTES, method, path)
    return None if found is None else found.route.key


def test_exact_paths_beat_variables_which_beat_greedy_ones() -> None:
    # AWS's own example ("Working with routes for HTTP APIs": routing priority).
    assert _key("GET", "/pets/dog/1") == "GET /pets/dog/1"
    assert _key("GET", "/pets/dog/2") == "GET /pets/dog/{id}"
    assert _key("GET", "/pets/cat/1/2") == "GET /pets/{proxy+}"
    assert _key("POST", "/pets/cat") == "ANY /{proxy+}"


def test_a_literal_at_the_first_differing_segment_wins() -> None:
    assert _key("GET", "/pets/cat/b") == "GET /pets/{x}/{y}"
    assert _key("GET", "/dogs/cat/b") == "GET /{a}/cat/{b}"


def test_the_request_method_beats_any_and_default_catches_the_rest() -> None:
    assert _key("GET", "/pets/dog/9") == "GET /pets/dog/{id}"
    assert _key("DELETE", "/pets/dog/9") == "ANY /pets/dog/{id}"
    assert _key("GET", "/") == "GET /"
    assert _key("POST", "/") == "$default"  # a greedy variable never matches nothing


def test_no_route_and_no_default_is_none() -> None:
    only = (parse_route_key("GET /items/{id}"),)
    assert match_route(only, "GET", "/items") is None
    assert match_route(only, "GET", "/items/") is None  # a variable never matches ""
    assert match_route(only, "POST", "/items/1") is None


def test_path_parameters_are_decoded_and_greedy_ones_keep_slashes() -> None:
    found = match_route(ROUTES, "GET", "/pets/dog/a%20b")
    assert found is not None and dict(found.path_parameters) == {"id": "a b"}
    greedy = match_route(ROUTES, "GET", "/pets/a/b%2Fc/d")
    assert greedy is not None and dict(greedy.path_parameters) == {"proxy": "a/b/c/d"}
    assert parse_route_key("ANY /files/{proxy+}").path == "/files/{proxy+}"
    assert parse_route_key("$default").path == "$default"


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("get /x", "METHOD /path"),
        ("FETCH /x", "METHOD /path"),
        ("GET x", "must start with '/'"),
        ("GET /{a+}/b", "last segment"),
        ("GET /{a}/{a}", "appears twice"),
        ("GET /a{b}", "whole-segment variable"),
        ("GET /a//b", "no segment may be empty"),
        ("GET", "METHOD /path"),
    ],
)
def test_route_keys_api_gateway_refuses(key: str, fragment: str) -> None:
    with pytest.raises(RouteKeyError) as exc:
        parse_route_key(key)
    assert fragment in str(exc.value)


def test_a_named_stage_is_the_first_segment_and_default_serves_the_rest() -> None:
    stages = {"$default", "dev"}
    assert stage_of("/dev/items/1", stages) == ("dev", "/items/1")
    assert stage_of("/dev", stages) == ("dev", "/")
    assert stage_of("/items/1", stages) == ("$default", "/items/1")
    assert stage_of("/", stages) == ("$default", "/")
    assert stage_of("/prod/x", {"dev"}) is None
    assert stage_of("/dev/x", {"dev"}) == ("dev", "/x")
    # "$default" is never a path segment's stage
    assert stage_of("/$default/x", {"$default"}) == ("$default", "/$default/x")
