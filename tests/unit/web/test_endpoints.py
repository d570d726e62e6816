"""Which endpoint a request is for (pure)."""

from __future__ import annotations

from nimbus.web.endpoints import Endpoint, EndpointNames, endpoint_of

NAMES = EndpointNames(region="us-east-1", port=9001)


def test_hosts_name_url_and_api_endpoints() -> None:
    assert endpoint_of(NAMES, "abc123.lambda-url.us-east-1.localhost:9001", "/p") == Endpoint(
        "url", "abc123", "us-east-1", "/p", "abc123.lambda-url.us-east-1.localhost"
    )
    api = endpoint_of(NAMES, "API9.execute-api.us-east-1.localhost", "")
    assert api is not None and (api.kind, api.id, api.path) == ("api", "api9", "/")


def test_other_hosts_and_regions_are_the_aws_apis() -> None:
    for host in (
        "127.0.0.1:9001",
        "abc.lambda-url.eu-west-1.localhost",
        "abc.lambda-url.us-east-1.example.com",
        "a.b.lambda-url.us-east-1.localhost",
        None,
    ):
        assert endpoint_of(NAMES, host, "/2015-03-31/functions") is None


def test_path_style_names_the_endpoint_in_the_path() -> None:
    found = endpoint_of(NAMES, "127.0.0.1:9001", "/lambda-url/abc/x/y")
    assert found == Endpoint(
        "url", "abc", "us-east-1", "/x/y", "abc.lambda-url.us-east-1.localhost"
    )
    bare = endpoint_of(NAMES, None, "/execute-api/q1")
    assert bare is not None and bare.path == "/"
    assert endpoint_of(NAMES, None, "/lambda-url/") is None


def test_urls_are_spelled_with_the_configured_domain_scheme_and_port() -> None:
    assert NAMES.url("url", "abc") == "http://abc.lambda-url.us-east-1.localhost:9001/"
    public = EndpointNames(region="eu-west-1", domain="fn.example.com", scheme="https", port=443)
    assert public.url("api", "q") == "https://q.execute-api.eu-west-1.fn.example.com/"
