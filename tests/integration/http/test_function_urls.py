"""Function URLs end to end: configuration CRUD and its errors (boto3), then requests to the
URL (httpx, and curl) — the exact payload 2.0 event, every response mapping, CORS, both
auth types, alias URLs."""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY
from tests.integration.auth.helpers import allow, unique, user_key
from tests.integration.http.helpers import allow_public, public_url, request
from tests.integration.invoke.helpers import deploy
from tests.support import NimbusServer

ECHO = """
import json
def handler(event, context):
    return {"statusCode": 200, "headers": {"content-type": "application/json"},
            "body": json.dumps(event)}
"""

MAPPING = """
import base64, json, time
def handler(event, context):
    kind = (event.get("queryStringParameters") or {}).get("kind")
    if kind == "structured":
        return {"statusCode": 201, "headers": {"X-Custom": "yes", "Content-Type": "text/plain"},
                "cookies": ["a=1; Max-Age=60", "b=2"], "body": "created"}
    if kind == "binary":
        return {"statusCode": 200, "headers": {"content-type": "image/png"},
                "isBase64Encoded": True, "body": base64.b64encode(b"\\x89PNG\\x00\\xff").decode()}
    if kind == "dict":
        return {"message": "hello"}
    if kind == "string":
        return "Hello, world!"
    if kind == "error":
        raise ValueError("boom")
    if kind == "sleep":
        time.sleep(5)
    if kind == "splitting":
        return {"statusCode": 200, "headers": {"x-evil": "a\\r\\nset-cookie: stolen=1"}}
    return {"statusCode": 204}
"""


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    return exc.value.response["Error"]["Code"], exc.value.response["ResponseMetadata"][
        "HTTPStatusCode"
    ]


def test_url_config_crud_and_errors(lam: Any, fname: str) -> None:
    deploy(lam, fname, ECHO)
    created = lam.create_function_url_config(
        FunctionName=fname, AuthType="AWS_IAM", Cors={"AllowOrigins": ["https://a.example"]}
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert re.fullmatch(
        r"http://[a-z0-9]{32}\.lambda-url\.us-east-1\.localhost:\d+/", created["FunctionUrl"]
    )
    assert created["FunctionArn"].endswith(f":function:{fname}")
    assert created["InvokeMode"] == "BUFFERED"
    assert created["Cors"] == {"AllowOrigins": ["https://a.example"]}
    with pytest.raises(ClientError) as second:
        lam.create_function_url_config(FunctionName=fname, AuthType="NONE")
    assert _error(second) == ("ResourceConflictException", 409)

    got = lam.get_function_url_config(FunctionName=fname)
    assert got["FunctionUrl"] == created["FunctionUrl"] and got["AuthType"] == "AWS_IAM"
    updated = lam.update_function_url_config(
        FunctionName=fname, AuthType="NONE", InvokeMode="RESPONSE_STREAM"
    )
    assert (updated["AuthType"], updated["InvokeMode"]) == ("NONE", "RESPONSE_STREAM")
    assert updated["FunctionUrl"] == created["FunctionUrl"]  # a URL never changes
    assert updated["Cors"] == {"AllowOrigins": ["https://a.example"]}
    listed = lam.list_function_url_configs(FunctionName=fname)["FunctionUrlConfigs"]
    assert [c["FunctionUrl"] for c in listed] == [created["FunctionUrl"]]

    for qualifier in ("$LATEST", "1"):
        with pytest.raises(ClientError) as bad:
            lam.create_function_url_config(FunctionName=fname, Qualifier=qualifier, AuthType="NONE")
        assert _error(bad) == ("ValidationException", 400)
    with pytest.raises(ClientError) as bad_auth:
        lam.update_function_url_config(FunctionName=fname, AuthType="OPEN")
    assert _error(bad_auth) == ("ValidationException", 400)
    assert "[NONE, AWS_IAM]" in bad_auth.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as no_alias:
        lam.create_function_url_config(FunctionName=fname, Qualifier="nope", AuthType="NONE")
    assert _error(no_alias)[1] == 404
    with pytest.raises(ClientError) as no_function:
        lam.get_function_url_config(FunctionName=f"{fname}-missing")
    assert _error(no_function) == ("ResourceNotFoundException", 404)

    assert (
        lam.delete_function_url_config(FunctionName=fname)["ResponseMetadata"]["HTTPStatusCode"]
        == 204
    )
    with pytest.raises(ClientError) as gone:
        lam.get_function_url_config(FunctionName=fname)
    assert _error(gone) == ("ResourceNotFoundException", 404)
    with pytest.raises(ClientError) as gone_again:
        lam.delete_function_url_config(FunctionName=fname)
    assert _error(gone_again) == ("ResourceNotFoundException", 404)


def test_list_pages_through_alias_urls(lam: Any, fname: str) -> None:
    deploy(lam, fname, ECHO)
    version = lam.publish_version(FunctionName=fname)["Version"]
    for alias in ("a1", "a2", "a3"):
        lam.create_alias(FunctionName=fname, Name=alias, FunctionVersion=version)
        lam.create_function_url_config(FunctionName=fname, Qualifier=alias, AuthType="NONE")
    lam.create_function_url_config(FunctionName=fname, AuthType="NONE")
    pages = lam.get_paginator("list_function_url_configs").paginate(
        FunctionName=fname, PaginationConfig={"PageSize": 2}
    )
    arns = [c["FunctionArn"] for page in pages for c in page["FunctionUrlConfigs"]]
    assert sorted(arns) == sorted(
        [lam.get_function(FunctionName=fname)["Configuration"]["FunctionArn"]]
        + [f"{arns[0].split(':function:')[0]}:function:{fname}:{a}" for a in ("a1", "a2", "a3")]
    )
    lam.delete_alias(FunctionName=fname, Name="a2")  # its URL goes with it
    listed = lam.list_function_url_configs(FunctionName=fname)["FunctionUrlConfigs"]
    assert len(listed) == 3


def test_the_event_is_payload_format_2(server: NimbusServer, lam: Any, fname: str) -> None:
    url = public_url(lam, fname, ECHO)
    response = request(
        server,
        url,
        "POST",
        "/some/path%20x?a=1&a=2&b=&c=%20z",
        headers=[
            ("content-type", "application/json"),
            ("x-multi", "one"),
            ("X-Multi", "two"),
            ("cookie", "c1=v1; c2=v2"),
            ("user-agent", "nimbus-test"),
        ],
        content=b'{"hello": "world"}',
    )
    assert response.status_code == 200, response.text
    event = response.json()
    url_id = urlsplit(url).hostname.split(".")[0]  # type: ignore[union-attr]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/some/path%20x"
    assert event["rawQueryString"] == "a=1&a=2&b=&c=%20z"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "", "c": " z"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "one,two"
    assert event["headers"]["user-agent"] == "nimbus-test"
    assert event["body"] == '{"hello": "world"}' and event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["accountId"] == "anonymous"
    assert context["apiId"] == url_id
    assert context["domainName"] == f"{url_id}.lambda-url.us-east-1.localhost"
    assert context["domainPrefix"] == url_id
    assert context["http"] == {
        "method": "POST",
        "path": "/some/path x",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "nimbus-test",
    }
    assert (context["routeKey"], context["stage"]) == ("$default", "$default")
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["time"])
    assert isinstance(context["timeEpoch"], int)
    assert response.headers["x-amzn-requestid"] == context["requestId"]

    binary = request(
        server,
        url,
        "PUT",
        "/bin",
        headers={"content-type": "application/octet-stream"},
        content=b"\x00\xff\x10",
    ).json()
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == b"\x00\xff\x10"
    empty = request(server, url).json()
    assert "body" not in empty and "queryStringParameters" not in empty
    assert "cookies" not in empty


def test_every_response_mapping(server: NimbusServer, lam: Any, fname: str) -> None:
    url = public_url(
        lam,
        fname,
        MAPPING,
    )
    lam.update_function_configuration(FunctionName=fname, Timeout=2)
    structured = request(server, url, params={"kind": "structured"})
    assert structured.status_code == 201
    assert structured.text == "created"
    assert structured.headers["x-custom"] == "yes"
    assert structured.headers["content-type"] == "text/plain"
    assert structured.headers.get_list("set-cookie") == ["a=1; Max-Age=60", "b=2"]
    binary = request(server, url, params={"kind": "binary"})
    assert binary.content == b"\x89PNG\x00\xff"
    assert binary.headers["content-type"] == "image/png"
    as_json = request(server, url, params={"kind": "dict"})
    assert (as_json.status_code, as_json.json()) == (200, {"message": "hello"})
    assert as_json.headers["content-type"] == "application/json"
    string = request(server, url, params={"kind": "string"})
    assert string.status_code == 200 and string.content == b'"Hello, world!"'
    assert request(server, url, params={"kind": "none"}).status_code == 204
    error = request(server, url, params={"kind": "error"})
    assert error.status_code == 502
    timeout = request(server, url, params={"kind": "sleep"})
    assert timeout.status_code == 504
    splitting = request(server, url, params={"kind": "splitting"})
    assert splitting.status_code == 502 and "stolen" not in splitting.headers.get("set-cookie", "")
    too_large = request(server, url, "POST", content=b"x" * (6 * 1024 * 1024 + 1))
    assert too_large.status_code == 413


def test_cors_preflight_is_answered_without_the_function(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    url = public_url(
        lam,
        fname,
        ECHO,
        Cors={
            "AllowOrigins": ["https://app.example"],
            "AllowMethods": ["GET", "POST"],
            "AllowHeaders": ["x-token"],
            "ExposeHeaders": ["x-out"],
            "MaxAge": 300,
        },
    )
    preflight = request(
        server,
        url,
        "OPTIONS",
        "/thing",
        headers={
            "origin": "https://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "x-token",
        },
    )
    assert preflight.status_code == 200
    assert preflight.content == b""  # the function (which echoes its event) never ran
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert preflight.headers["access-control-allow-headers"] == "x-token"
    assert preflight.headers["access-control-max-age"] == "300"
    stranger = request(
        server,
        url,
        "OPTIONS",
        headers={"origin": "https://evil.example", "access-control-request-method": "GET"},
    )
    assert "access-control-allow-origin" not in stranger.headers
    actual = request(server, url, headers={"origin": "https://app.example"})
    assert actual.status_code == 200
    assert actual.headers["access-control-allow-origin"] == "https://app.example"
    assert actual.headers["access-control-expose-headers"] == "x-out"


def test_none_needs_both_permissions_and_deleting_stops_serving(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, ECHO)
    url = lam.create_function_url_config(FunctionName=fname, AuthType="NONE")["FunctionUrl"]
    assert request(server, url).status_code == 403  # no resource policy at all
    lam.add_permission(
        FunctionName=fname,
        StatementId="url-public",
        Action="lambda:InvokeFunctionUrl",
        Principal="*",
        FunctionUrlAuthType="NONE",
    )
    denied = request(server, url)
    assert denied.status_code == 403 and denied.json() == {"Message": "Forbidden"}
    lam.add_permission(
        FunctionName=fname,
        StatementId="url-invoke",
        Action="lambda:InvokeFunction",
        Principal="*",
        InvokedViaFunctionUrl=True,
    )
    assert request(server, url).status_code == 200
    lam.delete_function_url_config(FunctionName=fname)
    assert request(server, url).status_code == 403  # at once


def _signed(url: str, path: str, key: str, secret: str) -> dict[str, str]:
    aws = AWSRequest(method="GET", url=url.rstrip("/") + path)
    SigV4Auth(Credentials(key, secret), "lambda", "us-east-1").add_auth(aws)
    return dict(aws.headers.items())


def test_aws_iam_urls_take_signed_requests_only(server: NimbusServer, lam: Any, fname: str) -> None:
    deploy(lam, fname, ECHO)
    url = lam.create_function_url_config(FunctionName=fname, AuthType="AWS_IAM")["FunctionUrl"]
    assert request(server, url).status_code == 403  # unsigned
    wrong = _signed(url, "/x", ADMIN_ACCESS_KEY_ID, "not-the-secret")
    assert request(server, url, path="/x", headers=wrong).status_code == 403
    signed = _signed(url, "/x", ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY)
    response = request(server, url, path="/x", headers=signed)
    assert response.status_code == 200, response.text
    iam = response.json()["requestContext"]["authorizer"]["iam"]
    assert iam["accessKey"] == ADMIN_ACCESS_KEY_ID
    assert iam["userArn"].endswith(":root")
    assert response.json()["requestContext"]["accountId"] != "anonymous"


def test_an_alias_url_runs_the_alias_version(server: NimbusServer, lam: Any, fname: str) -> None:
    deploy(lam, fname, "def handler(e, c):\n    return {'v': 'one'}\n")
    one = lam.publish_version(FunctionName=fname)["Version"]
    lam.create_alias(FunctionName=fname, Name="live", FunctionVersion=one)
    lam.update_function_code(
        FunctionName=fname,
        ZipFile=__import__("tests.support", fromlist=["make_zip"]).make_zip(
            {"app.py": "def handler(e, c):\n    return {'v': 'latest'}\n"}
        ),
    )
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    live = lam.create_function_url_config(FunctionName=fname, Qualifier="live", AuthType="NONE")
    assert live["FunctionArn"].endswith(f":{fname}:live")
    allow_public(lam, fname, "live")
    assert request(server, live["FunctionUrl"]).json() == {"v": "one"}


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_reaches_a_url_by_name_and_path_style(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    url = public_url(lam, fname, "def handler(e, c):\n    return {'path': e['rawPath']}\n")
    by_name = subprocess.run(
        ["curl", "-s", "--max-time", "20", f"{url}hello"], capture_output=True, check=True
    )
    assert json.loads(by_name.stdout) == {"path": "/hello"}
    url_id = urlsplit(url).hostname.split(".")[0]  # type: ignore[union-attr]
    path_style = subprocess.run(
        ["curl", "-s", "--max-time", "20", f"{server.url}/lambda-url/{url_id}/hello"],
        capture_output=True,
        check=True,
    )
    assert json.loads(path_style.stdout) == {"path": "/hello"}


def test_an_iam_user_needs_both_url_actions(server: NimbusServer, lam: Any, fname: str) -> None:
    deploy(lam, fname, ECHO)
    url = lam.create_function_url_config(FunctionName=fname, AuthType="AWS_IAM")["FunctionUrl"]
    arn = lam.get_function(FunctionName=fname)["Configuration"]["FunctionArn"]
    half = user_key(server, unique("url-half"), allow(("lambda:InvokeFunctionUrl", arn)))
    both = user_key(
        server,
        unique("url-both"),
        allow((["lambda:InvokeFunctionUrl", "lambda:InvokeFunction"], arn)),
    )
    headers = _signed(url, "/", half["AccessKeyId"], half["SecretAccessKey"])
    assert request(server, url, headers=headers).status_code == 403
    headers = _signed(url, "/", both["AccessKeyId"], both["SecretAccessKey"])
    response = request(server, url, headers=headers)
    assert response.status_code == 200, response.text
    assert ":user/url-both-" in response.json()["requestContext"]["authorizer"]["iam"]["userArn"]


def test_a_throttled_function_answers_429(server: NimbusServer, lam: Any, fname: str) -> None:
    url = public_url(lam, fname, ECHO)
    lam.put_function_concurrency(FunctionName=fname, ReservedConcurrentExecutions=0)
    throttled = request(server, url)
    assert throttled.status_code == 429
    lam.delete_function_concurrency(FunctionName=fname)
    assert request(server, url).status_code == 200


def _answer_without_sending_the_body(server: NimbusServer, host: str) -> bytes:
    """The status line the server answers a POST announcing 6 MB it never sends: only a
    server that answers before reading the body answers at all."""
    head = f"POST / HTTP/1.1\r\nHost: {host}\r\nContent-Length: 6000000\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(head)
        return sock.recv(4096).split(b"\r\n", 1)[0]


def test_unknown_urls_and_unsigned_iam_requests_are_refused_before_the_body(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    nowhere = "0" * 32 + ".lambda-url.us-east-1.localhost"
    assert _answer_without_sending_the_body(server, nowhere) == b"HTTP/1.1 403 Forbidden"
    deploy(lam, fname, ECHO)
    url = lam.create_function_url_config(FunctionName=fname, AuthType="AWS_IAM")["FunctionUrl"]
    host = urlsplit(url).netloc
    assert _answer_without_sending_the_body(server, host) == b"HTTP/1.1 403 Forbidden"


def test_a_source_ip_condition_applies_to_url_callers(
    server: NimbusServer, lam: Any, fname: str
) -> None:
    url = public_url(lam, fname, ECHO)
    arn = lam.get_function(FunctionName=fname)["Configuration"]["FunctionArn"]
    policy = json.loads(lam.get_policy(FunctionName=fname)["Policy"])
    policy["Statement"].append(
        {
            "Sid": "not-from-loopback",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "lambda:InvokeFunction",
            "Resource": arn,
            "Condition": {"IpAddress": {"aws:SourceIp": "127.0.0.0/8"}},
        }
    )
    assert request(server, url).status_code == 200
    lam.put_resource_policy(ResourceArn=arn, Policy=json.dumps(policy))
    assert request(server, url).status_code == 403  # the test client is on loopback
