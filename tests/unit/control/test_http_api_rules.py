"""HTTP API inputs checked as API Gateway checks them (pure): BadRequestException saying what
to fix."""

from __future__ import annotations

import pytest

from nimbus.control import http_api_rules as rules
from nimbus.errors import BadRequestError
from nimbus.model.http_api import ApiCors

FN = "arn:aws:lambda:us-east-1:111122223333:function:shop"


def test_lambda_integration_uris_in_both_spellings() -> None:
    assert rules.function_of(FN).name == "shop"
    ref = rules.function_of(f"{FN}:live")
    assert (ref.name, ref.qualifier, ref.region, ref.account) == (
        "shop",
        "live",
        "us-east-1",
        "111122223333",
    )
    sam = f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{FN}/invocations"
    assert rules.function_of(sam).name == "shop"


@pytest.mark.parametrize(
    "uri", ["shop", "https://example.com/", "111122223333:function:shop", "arn:aws:sqs:x"]
)
def test_anything_else_is_not_a_lambda_integration(uri: str) -> None:
    with pytest.raises(BadRequestError, match="not a Lambda function"):
        rules.integration_uri(uri)


@pytest.mark.parametrize(
    ("check", "value", "fragment"),
    [
        (rules.timeout_ms, 49, "between 50 and 30000"),
        (rules.timeout_ms, 30001, "between 50 and 30000"),
        (rules.timeout_ms, True, "between 50 and 30000"),
        (rules.payload_format_version, None, "required"),
        (rules.payload_format_version, "2", "1.0 or 2.0"),
        (rules.integration_type, "HTTP_PROXY", "not supported"),
        (rules.authorization_type, "JWT", "not supported"),
        (rules.protocol_type, "WEBSOCKET", "not supported"),
        (rules.stage_name, "has space", "not valid"),
        (rules.stage_variables, {"bad-name": "x"}, "not valid"),
        (rules.stage_variables, {"ok": "spaces are refused"}, "refuses"),
        (rules.target, "routes/x", "integrations/<IntegrationId>"),
        (rules.route_key, "GET /{a}/{a}", "twice"),
        (rules.name, "", "between 1 and 128"),
        (rules.cors, {"maxAge": 86401}, "MaxAge"),
        (rules.cors, {"allowMethods": ["FETCH"]}, "AllowMethods"),
    ],
)
def test_bad_inputs(check: object, value: object, fragment: str) -> None:
    with pytest.raises(BadRequestError) as exc:
        check(value)  # type: ignore[operator]
    assert fragment in exc.value.message


def test_good_inputs() -> None:
    assert rules.timeout_ms(50) == 50
    assert rules.stage_name("$default") == "$default"
    assert rules.stage_variables({"url": "https://x.example/a?b=c"}) == {
        "url": "https://x.example/a?b=c"
    }
    assert rules.cors({"allowOrigins": ["*"], "allowMethods": ["get"], "maxAge": -1}) == ApiCors(
        allow_origins=("*",), allow_methods=("GET",), max_age=-1
    )
    assert rules.max_results(None) == 500
    assert rules.max_results("2") == 2
    with pytest.raises(BadRequestError):
        rules.max_results("0")
    assert len(rules.new_id(10)) == 10 and rules.new_id(7).isalnum()
