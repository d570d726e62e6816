"""HTTP APIs (API Gateway) end to end: the apigatewayv2 API through boto3 (CRUD, quick create,
paging, errors, access), then requests to an API over HTTP (httpx) — route matching with both
payload versions, path parameters, {proxy+}, $default, a named stage with stage variables,
the Lambda permission API Gateway needs, CORS preflights, errors and the integration
timeout."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.integration.auth.helpers import client_as, unique, user_key
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer

ACCOUNT = "000000000000"
REGION = "us-east-1"

HANDLER = """
import json, time
def handler(event, context):
    v1 = event.get("version") == "1.0"
    query = event.get("queryStringParameters") or {}
    do = query.get("do")
    if do == "boom":
        raise ValueError("boom")
    if do == "sleep":
        time.sleep(2)
    if do == "bad":
        return {"body": "a 1.0 answer without statusCode"} if v1 else {"statusCode": "teapot"}
    if v1:
        return {"statusCode": 201, "headers": {"content-type": "application/json", "x-one": "1"},
                "multiValueHeaders": {"set-cookie": ["a=1", "b=2"], "x-many": ["p", "q"]},
                "body": json.dumps(event)}
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, str]:
    response = exc.value.response
    return (
        response["Error"]["Code"],
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


def _host(api_id: str) -> str:
    return f"{api_id}.execute-api.{REGION}.localhost"


def call(server: NimbusServer, api_id: str, method: str, path: str, **kw: Any) -> httpx.Response:
    """``method path`` to the API, with its Host (as a client resolving *.localhost would)."""
    given = kw.pop("headers", {})
    headers = [("host", _host(api_id)), *(given.items() if isinstance(given, dict) else given)]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        return client.request(method, path, headers=headers, **kw)


def permit(lam: Any, name: str, api_id: str, sid: str = "apigw") -> None:
    """What SAM adds for an HttpApi event: API Gateway may invoke the function from the API."""
    lam.add_permission(
        FunctionName=name,
        StatementId=sid,
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*",
    )


@pytest.fixture(scope="module")
def apigw(server: NimbusServer) -> Any:
    return server.client("apigatewayv2")


@pytest.fixture(scope="module")
def function(lam: Any) -> Iterator[dict[str, Any]]:
    name = unique("httpapi")
    yield deploy(lam, name, HANDLER, Timeout=5)
    lam.delete_function(FunctionName=name)


@pytest.fixture(scope="module")
def api(apigw: Any, lam: Any, function: dict[str, Any]) -> dict[str, Any]:
    """An API with routes of both payload versions, a $default and a named stage."""
    api_id = apigw.create_api(Name="shop", ProtocolType="HTTP")["ApiId"]
    arn = function["FunctionArn"]
    v2 = apigw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )["IntegrationId"]
    v1 = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        # SAM's spelling of a Lambda integration
        IntegrationUri=(
            f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
        PayloadFormatVersion="1.0",
    )["IntegrationId"]
    slow = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=arn,
        PayloadFormatVersion="2.0",
        TimeoutInMillis=500,
    )["IntegrationId"]
    for key, target in (
        ("GET /items/{id}", v2),
        ("GET /items/special", v2),
        ("ANY /items/{id}", v1),
        ("ANY /files/{proxy+}", v2),
        ("POST /v1/{kind}/{id}", v1),
        ("GET /slow", slow),
        ("$default", v2),
    ):
        apigw.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{target}")
    apigw.create_stage(ApiId=api_id, StageName="$default", AutoDeploy=True)
    apigw.create_stage(ApiId=api_id, StageName="dev", StageVariables={"color": "blue"})
    permit(lam, function["FunctionName"], api_id)
    return {"id": api_id, "v1": v1, "v2": v2}


# --- the management API ---------------------------------------------------------------------


def test_api_crud_paging_and_errors(apigw: Any, function: dict[str, Any]) -> None:
    created = apigw.create_api(
        Name="crud",
        ProtocolType="HTTP",
        Description="d",
        CorsConfiguration={"AllowOrigins": ["https://a.example"], "MaxAge": 60},
        Tags={"team": "x"},
    )
    api_id = created["ApiId"]
    assert created["ApiEndpoint"].startswith(f"http://{_host(api_id)}:")
    assert created["ProtocolType"] == "HTTP"
    assert created["CorsConfiguration"] == {"AllowOrigins": ["https://a.example"], "MaxAge": 60}
    got = apigw.get_api(ApiId=api_id)
    assert (got["Name"], got["Description"], got["Tags"]) == ("crud", "d", {"team": "x"})
    assert got["CreatedDate"] == created["CreatedDate"]
    updated = apigw.update_api(ApiId=api_id, Name="crud2", DisableExecuteApiEndpoint=True)
    assert (updated["Name"], updated["DisableExecuteApiEndpoint"]) == ("crud2", True)

    others = [apigw.create_api(Name=f"page{i}", ProtocolType="HTTP")["ApiId"] for i in range(2)]
    pages = list(apigw.get_paginator("get_apis").paginate(PaginationConfig={"PageSize": 1}))
    listed = [item["ApiId"] for page in pages for item in page["Items"]]
    assert {api_id, *others} <= set(listed) and len(listed) == len(set(listed))
    assert len(pages) >= 3

    integration = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function["FunctionArn"],
        PayloadFormatVersion="1.0",
        TimeoutInMillis=1000,
    )
    assert integration["TimeoutInMillis"] == 1000
    default = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function["FunctionArn"],
        PayloadFormatVersion="2.0",
    )
    assert default["TimeoutInMillis"] == 30000
    target = f"integrations/{integration['IntegrationId']}"
    route = apigw.create_route(ApiId=api_id, RouteKey="GET /a/{b}", Target=target)
    assert apigw.get_route(ApiId=api_id, RouteId=route["RouteId"])["Target"] == target
    moved = apigw.update_route(ApiId=api_id, RouteId=route["RouteId"], RouteKey="GET /c/{d}")
    assert moved["RouteKey"] == "GET /c/{d}"
    assert [r["RouteKey"] for r in apigw.get_routes(ApiId=api_id)["Items"]] == ["GET /c/{d}"]
    stage = apigw.create_stage(ApiId=api_id, StageName="prod", StageVariables={"v": "1"})
    assert (stage["StageName"], stage["StageVariables"]) == ("prod", {"v": "1"})
    assert apigw.get_stage(ApiId=api_id, StageName="prod")["StageVariables"] == {"v": "1"}
    assert len(apigw.get_integrations(ApiId=api_id)["Items"]) == 2

    def fails(operation: str, **params: Any) -> tuple[str, int, str]:
        with pytest.raises(ClientError) as exc:
            getattr(apigw, operation)(**params)
        return _error(exc)

    assert fails("get_api", ApiId="nosuchapi0") == (
        "NotFoundException",
        404,
        f"Invalid API identifier specified {ACCOUNT}:nosuchapi0",
    )
    assert fails("get_route", ApiId=api_id, RouteId="nope")[:2] == ("NotFoundException", 404)
    assert fails("get_stage", ApiId=api_id, StageName="nope")[:2] == ("NotFoundException", 404)
    assert fails("create_route", ApiId=api_id, RouteKey="GET /c/{d}")[:2] == (
        "ConflictException",
        409,
    )
    assert fails("create_stage", ApiId=api_id, StageName="prod")[:2] == ("ConflictException", 409)
    code, status, text = fails("create_route", ApiId=api_id, RouteKey="FETCH /x")
    assert (code, status) == ("BadRequestException", 400) and "METHOD /path" in text
    code, _, text = fails("create_route", ApiId=api_id, RouteKey="GET /{proxy+}/x", Target=target)
    assert code == "BadRequestException" and "last segment" in text
    code, _, text = fails("create_route", ApiId=api_id, RouteKey="GET /z", Target="integrations/x")
    assert code == "BadRequestException" and "CreateIntegration" in text
    code, _, text = fails(
        "create_integration",
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function["FunctionArn"],
        PayloadFormatVersion="3.0",
    )
    assert code == "BadRequestException" and "1.0 or 2.0" in text
    code, _, text = fails(
        "create_integration",
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri=function["FunctionArn"],
        PayloadFormatVersion="2.0",
        TimeoutInMillis=40000,
    )
    assert code == "BadRequestException" and "between 50 and 30000" in text
    code, _, text = fails(
        "create_integration",
        ApiId=api_id,
        IntegrationType="AWS_PROXY",
        IntegrationUri="https://example.com",
        PayloadFormatVersion="2.0",
    )
    assert code == "BadRequestException" and "not a Lambda function" in text
    code, _, text = fails("create_api", Name="ws", ProtocolType="WEBSOCKET")
    assert code == "BadRequestException" and "HTTP" in text

    apigw.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    apigw.delete_stage(ApiId=api_id, StageName="prod")
    apigw.delete_integration(ApiId=api_id, IntegrationId=default["IntegrationId"])
    for other in (api_id, *others):
        apigw.delete_api(ApiId=other)
    assert fails("get_api", ApiId=api_id)[:2] == ("NotFoundException", 404)
    assert fails("delete_api", ApiId=api_id)[:2] == ("NotFoundException", 404)


def test_the_management_api_is_authorized_by_verb_and_path(server: NimbusServer) -> None:
    reader = user_key(
        server,
        unique("apigw-reader"),
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "apigateway:GET",
                    "Resource": f"arn:aws:apigateway:{REGION}::/apis",
                }
            ],
        },
    )
    client = client_as(server, "apigatewayv2", reader)
    assert "Items" in client.get_apis()
    with pytest.raises(ClientError) as exc:
        client.create_api(Name="x", ProtocolType="HTTP")
    code, status, text = _error(exc)
    assert (code, status) == ("AccessDeniedException", 403)
    assert f"apigateway:POST on resource: arn:aws:apigateway:{REGION}::/apis" in text


def test_quick_create_serves_the_function_at_once(
    server: NimbusServer, apigw: Any, lam: Any, function: dict[str, Any]
) -> None:
    created = apigw.create_api(
        Name="quick", ProtocolType="HTTP", Target=function["FunctionArn"], RouteKey="GET /hello"
    )
    api_id = created["ApiId"]
    [integration] = apigw.get_integrations(ApiId=api_id)["Items"]
    assert (integration["IntegrationType"], integration["PayloadFormatVersion"]) == (
        "AWS_PROXY",
        "2.0",
    )
    assert integration["ApiGatewayManaged"] is True
    [route] = apigw.get_routes(ApiId=api_id)["Items"]
    assert (route["RouteKey"], route["Target"]) == (
        "GET /hello",
        f"integrations/{integration['IntegrationId']}",
    )
    [stage] = apigw.get_stages(ApiId=api_id)["Items"]
    assert (stage["StageName"], stage["AutoDeploy"]) == ("$default", True)

    # API Gateway may invoke the function only once its resource policy allows it.
    assert call(server, api_id, "GET", "/hello").status_code == 500
    lam.add_permission(
        FunctionName=function["FunctionName"],
        StatementId="quick-other-api",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:otherapi00/*/GET/hello",
    )
    denied = call(server, api_id, "GET", "/hello")
    assert (denied.status_code, denied.json()) == (500, {"message": "Internal Server Error"})
    lam.add_permission(
        FunctionName=function["FunctionName"],
        StatementId="quick",
        Action="lambda:InvokeFunction",
        Principal="apigateway.amazonaws.com",
        SourceArn=f"arn:aws:execute-api:{REGION}:{ACCOUNT}:{api_id}/*/GET/hello",
        SourceAccount=ACCOUNT,
    )
    hello = call(server, api_id, "GET", "/hello")
    assert hello.status_code == 200, hello.text
    assert hello.headers["apigw-requestid"]
    assert hello.json()["routeKey"] == "GET /hello"
    missing = call(server, api_id, "GET", "/nope")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    apigw.delete_api(ApiId=api_id)
    assert call(server, api_id, "GET", "/hello").status_code == 404


# --- serving ------------------------------------------------------------------------------------


def test_routes_payload_2_0_path_parameters_proxy_and_default(
    server: NimbusServer, api: dict[str, Any]
) -> None:
    api_id = api["id"]
    got = call(server, api_id, "GET", "/items/a%20b?x=1&x=2", headers={"x-h": "v"})
    assert got.status_code == 200, got.text
    event = got.json()
    assert event["version"] == "2.0"
    assert (event["routeKey"], event["rawPath"], event["rawQueryString"]) == (
        "GET /items/{id}",
        "/items/a%20b",
        "x=1&x=2",
    )
    assert event["pathParameters"] == {"id": "a b"}
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["headers"]["x-h"] == "v"
    context = event["requestContext"]
    assert (context["apiId"], context["accountId"], context["stage"]) == (
        api_id,
        ACCOUNT,
        "$default",
    )
    assert context["domainName"] == _host(api_id)
    assert context["requestId"] == got.headers["apigw-requestid"]
    assert "stageVariables" not in event

    assert call(server, api_id, "GET", "/items/special").json()["routeKey"] == "GET /items/special"
    proxy = call(server, api_id, "PUT", "/files/a/b/c.txt").json()
    assert (proxy["routeKey"], proxy["pathParameters"]) == (
        "ANY /files/{proxy+}",
        {"proxy": "a/b/c.txt"},
    )
    fallback = call(server, api_id, "DELETE", "/elsewhere").json()
    assert (fallback["routeKey"], fallback.get("pathParameters")) == ("$default", None)

    # The same API path-style, on the server's own address.
    with httpx.Client(base_url=server.url, timeout=30) as client:
        styled = client.get(f"/execute-api/{api_id}/items/7")
    assert styled.json()["pathParameters"] == {"id": "7"}


def test_payload_1_0_event_and_response_mapping(server: NimbusServer, api: dict[str, Any]) -> None:
    got = call(
        server,
        api["id"],
        "POST",
        "/v1/orders/42?x=1&x=2",
        headers=[("x-h", "a"), ("x-h", "b"), ("content-type", "application/json")],
        content=b'{"q": 1}',
    )
    assert got.status_code == 201, got.text
    assert got.headers.get_list("set-cookie") == ["a=1", "b=2"]
    assert (got.headers["x-one"], got.headers["x-many"]) == ("1", "p,q")
    event = got.json()
    assert event["version"] == "1.0"
    assert (event["resource"], event["path"], event["httpMethod"]) == (
        "/v1/{kind}/{id}",
        "/v1/orders/42",
        "POST",
    )
    assert event["pathParameters"] == {"kind": "orders", "id": "42"}
    assert event["headers"]["x-h"] == "b"
    assert event["multiValueHeaders"]["x-h"] == ["a", "b"]
    assert event["queryStringParameters"] == {"x": "2"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert (event["body"], event["isBase64Encoded"]) == ('{"q": 1}', False)
    assert event["stageVariables"] is None
    context = event["requestContext"]
    assert (context["resourcePath"], context["resourceId"], context["stage"]) == (
        "/v1/{kind}/{id}",
        "POST /v1/{kind}/{id}",
        "$default",
    )
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert (context["httpMethod"], context["path"], context["apiId"]) == (
        "POST",
        "/v1/orders/42",
        api["id"],
    )
    assert isinstance(context["requestTimeEpoch"], int)
    # A method route beats ANY on the same path; another method falls to ANY.
    assert call(server, api["id"], "GET", "/items/3").json()["version"] == "2.0"
    assert call(server, api["id"], "PATCH", "/items/3").json()["resource"] == "/items/{id}"


def test_a_named_stage_with_stage_variables(server: NimbusServer, api: dict[str, Any]) -> None:
    event = call(server, api["id"], "GET", "/dev/items/5").json()
    assert (event["requestContext"]["stage"], event["rawPath"]) == ("dev", "/dev/items/5")
    assert event["stageVariables"] == {"color": "blue"}
    assert event["pathParameters"] == {"id": "5"}
    v1 = call(server, api["id"], "POST", "/dev/v1/a/b").json()
    assert (v1["requestContext"]["stage"], v1["stageVariables"]) == ("dev", {"color": "blue"})


def test_function_errors_bad_answers_and_the_integration_timeout(
    server: NimbusServer, api: dict[str, Any]
) -> None:
    internal = {"message": "Internal Server Error"}
    for path in ("/items/1?do=boom", "/items/1?do=bad", "/v1/a/b?do=bad"):
        got = call(server, api["id"], "POST" if path.startswith("/v1") else "GET", path)
        assert (got.status_code, got.json()) == (500, internal), path
    slow = call(server, api["id"], "GET", "/slow?do=sleep")
    assert (slow.status_code, slow.json()) == (503, {"message": "Service Unavailable"})


def test_cors_preflight_is_answered_by_the_platform(
    server: NimbusServer, apigw: Any, api: dict[str, Any]
) -> None:
    apigw.update_api(
        ApiId=api["id"],
        CorsConfiguration={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["content-type"],
            "MaxAge": 300,
        },
    )
    try:
        preflight = call(
            server,
            api["id"],
            "OPTIONS",
            "/items/1",
            headers={"origin": "https://app.example", "access-control-request-method": "POST"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        assert preflight.headers["access-control-allow-methods"] == "GET,POST"
        assert preflight.headers["access-control-max-age"] == "300"
        assert preflight.content == b""
        simple = call(
            server, api["id"], "GET", "/items/1", headers={"origin": "https://app.example"}
        )
        assert simple.status_code == 200
        assert simple.headers["access-control-allow-origin"] == "https://app.example"
        stranger = call(server, api["id"], "GET", "/items/1", headers={"origin": "https://evil"})
        assert "access-control-allow-origin" not in stranger.headers
    finally:
        apigw.delete_cors_configuration(ApiId=api["id"])


def test_unknown_apis_and_stages_are_not_found(server: NimbusServer, apigw: Any) -> None:
    missing = call(server, "nosuchapi0", "GET", "/")
    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    api_id = apigw.create_api(Name="stageless", ProtocolType="HTTP")["ApiId"]
    try:
        # No stage yet: nothing is served.
        assert call(server, api_id, "GET", "/").status_code == 404
    finally:
        apigw.delete_api(ApiId=api_id)


def test_event_body_is_base64_for_binary_content(server: NimbusServer, api: dict[str, Any]) -> None:
    got = call(
        server,
        api["id"],
        "POST",
        "/files/blob",
        headers={"content-type": "application/octet-stream"},
        content=b"\x00\xff",
    )
    event = got.json()
    assert (event["body"], event["isBase64Encoded"]) == ("AP8=", True)
    assert json.loads(got.text)["routeKey"] == "ANY /files/{proxy+}"
