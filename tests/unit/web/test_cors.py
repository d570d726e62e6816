"""CORS answered by the platform (pure)."""

from __future__ import annotations

from nimbus.web.cors import CorsConfig, is_preflight, preflight, with_cors
from nimbus.web.http_request import HttpRequest, HttpResponse

CONFIG = CorsConfig(
    allow_origins=("https://app.example",),
    allow_methods=("GET", "PUT"),
    allow_headers=("x-token",),
    expose_headers=("x-out",),
    allow_credentials=True,
    max_age=60,
)


def _request(method: str, *headers: tuple[str, str]) -> HttpRequest:
    return HttpRequest(
        method=method, raw_path="/", raw_query="", headers=headers, body=b"", source_ip=""
    )


def test_a_preflight_needs_origin_and_requested_method() -> None:
    assert is_preflight(
        _request("OPTIONS", ("origin", "o"), ("access-control-request-method", "GET"))
    )
    assert not is_preflight(_request("OPTIONS", ("origin", "o")))
    assert not is_preflight(
        _request("GET", ("origin", "o"), ("access-control-request-method", "GET"))
    )


def test_an_allowed_preflight_gets_every_allow_header() -> None:
    answer = preflight(
        CONFIG,
        _request(
            "OPTIONS",
            ("origin", "https://app.example"),
            ("access-control-request-method", "PUT"),
        ),
    )
    headers = dict(answer.headers)
    assert answer.status == 200
    assert headers["access-control-allow-origin"] == "https://app.example"
    assert headers["access-control-allow-methods"] == "GET,PUT"
    assert headers["access-control-allow-headers"] == "x-token"
    assert headers["access-control-allow-credentials"] == "true"
    assert headers["access-control-max-age"] == "60"


def test_a_disallowed_origin_or_method_gets_no_allow_headers() -> None:
    for origin, method in (("https://evil.example", "GET"), ("https://app.example", "DELETE")):
        answer = preflight(
            CONFIG,
            _request("OPTIONS", ("origin", origin), ("access-control-request-method", method)),
        )
        assert answer.status == 200 and answer.headers == ()


def test_a_wildcard_origin_is_echoed_only_with_credentials() -> None:
    anyone = CorsConfig(allow_origins=("*",), allow_methods=("*",))
    request = _request("OPTIONS", ("origin", "https://x"), ("access-control-request-method", "GET"))
    assert dict(preflight(anyone, request).headers)["access-control-allow-origin"] == "*"
    credentialed = CorsConfig(allow_origins=("*",), allow_methods=("*",), allow_credentials=True)
    headers = dict(preflight(credentialed, request).headers)
    assert headers["access-control-allow-origin"] == "https://x"


def test_responses_get_the_configured_headers_replacing_the_functions() -> None:
    response = HttpResponse(
        status=200, headers=(("access-control-allow-origin", "*"), ("x", "1")), body=b"b"
    )
    allowed = with_cors(CONFIG, _request("GET", ("origin", "https://app.example")), response)
    assert dict(allowed.headers)["access-control-allow-origin"] == "https://app.example"
    assert dict(allowed.headers)["access-control-expose-headers"] == "x-out"
    other = with_cors(CONFIG, _request("GET", ("origin", "https://evil.example")), response)
    assert other.headers == (("x", "1"),)
