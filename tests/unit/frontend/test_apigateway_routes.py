"""API Gateway's management API → the IAM action and resource the gate authorizes it on
(AWS's "Actions, resources, and condition keys for Amazon API Gateway Management V2": the
HTTP verb, on the path below /v2 in the region, with no account)."""

from __future__ import annotations

import pytest

from nimbus.frontend.auth_gate import _expected_service
from nimbus.frontend.operations import OperationRequest, resolve
from nimbus.model.arn import Arns

ARNS = Arns(region="eu-west-1", account="111122223333")
BASE = "arn:aws:apigateway:eu-west-1::"


@pytest.mark.parametrize(
    ("method", "path", "name", "action", "resource"),
    [
        ("POST", "/v2/apis", "CreateApi", "apigateway:POST", BASE + "/apis"),
        ("GET", "/v2/apis", "GetApis", "apigateway:GET", BASE + "/apis"),
        ("HEAD", "/v2/apis/a1", "GetApi", "apigateway:GET", BASE + "/apis/a1"),
        ("PATCH", "/v2/apis/a1", "UpdateApi", "apigateway:PATCH", BASE + "/apis/a1"),
        ("DELETE", "/v2/apis/a1/", "DeleteApi", "apigateway:DELETE", BASE + "/apis/a1"),
        ("DELETE", "/v2/apis/a1/cors", "DeleteCorsConfiguration", "apigateway:DELETE",
         BASE + "/apis/a1/cors"),
        ("POST", "/v2/apis/a1/integrations", "CreateIntegration", "apigateway:POST",
         BASE + "/apis/a1/integrations"),
        ("GET", "/v2/apis/a1/routes/r1", "GetRoute", "apigateway:GET", BASE + "/apis/a1/routes/r1"),
        ("PATCH", "/v2/apis/a1/stages/$default", "UpdateStage", "apigateway:PATCH",
         BASE + "/apis/a1/stages/$default"),
        ("DELETE", "/v2/apis/a1/stages/dev", "DeleteStage", "apigateway:DELETE",
         BASE + "/apis/a1/stages/dev"),
    ],
)  # fmt: skip
def test_each_operation_is_its_verb_on_its_path(
    method: str, path: str, name: str, action: str, resource: str
) -> None:
    got = resolve(OperationRequest(method=method, path=path), ARNS)
    assert (got.service, got.name, got.action, got.resource) == (
        "apigateway",
        name,
        action,
        resource,
    )


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/v2/apis"), ("GET", "/v2/apis/a1/deployments"), ("GET", "/v2/domainnames")],
)
def test_what_the_table_lacks_has_no_action(method: str, path: str) -> None:
    got = resolve(OperationRequest(method=method, path=path), ARNS)
    assert got.action is None


def test_v2_paths_are_signed_for_apigateway() -> None:
    assert _expected_service("/v2/apis", "") == "apigateway"
    assert _expected_service("/2015-03-31/functions", "") == "lambda"
