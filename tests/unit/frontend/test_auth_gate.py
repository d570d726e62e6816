"""The gate over ASGI, with botocore-signed requests, the real Authenticator and Authorizer,
and dict-backed keys and policies: who gets through, what the route sees, and AWS's errors in
each wire protocol."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlencode
from xml.etree import ElementTree

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message

from nimbus import app as nimbus_app
from nimbus.auth.authenticator import Authenticator
from nimbus.auth.authorizer import Authorizer
from nimbus.auth.ports import PolicyDocument
from nimbus.auth.principal import Principal, root
from nimbus.config import Settings
from nimbus.frontend.app import starlette_app
from nimbus.frontend.auth_gate import PRINCIPAL_KEY, SERVICE_KEY, AuthGate
from nimbus.frontend.auth_mode import loopback_problem
from nimbus.frontend.code_urls import CodeUrls
from nimbus.frontend.iam_api import IamApi
from nimbus.frontend.params import FORM_KEY, query_values
from nimbus.frontend.root_api import RootApi
from nimbus.model.arn import Arns
from nimbus.node.frontend import build_gate
from nimbus.queues.service import QueueService
from nimbus.queues.topics import TopicService
from nimbus.testing.clock import ManualClock
from nimbus.testing.credentials import StaticCredentials
from nimbus.testing.signing import SigV4Auth

ACCOUNT = "111122223333"
ARNS = Arns(region="us-east-1", account=ACCOUNT)
AT = datetime(2026, 12, 2, 10, 0, 0, tzinfo=UTC)
BASE = "http://nimbus.test"
FN = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fn"
ADMIN = ("AKIAADMIN0000000000A", "admin/secret")
DEV = ("AKIADEV00000000000AA", "dev/secret")
OTHER = ("AKIAOTHER000000000AA", "other/secret")
DEV_USER = Principal(
    kind="user",
    arn=f"arn:aws:iam::{ACCOUNT}:user/dev",
    account=ACCOUNT,
    name="dev",
    user_id="AIDADEV",
    access_key_id=DEV[0],
)
OTHER_USER = Principal(
    kind="user",
    arn="arn:aws:iam::444455556666:user/ext",
    account="444455556666",
    name="ext",
    user_id="AIDAEXT",
    access_key_id=OTHER[0],
)
CODE_KEY = "ab" * 32


class Policies:
    def __init__(self) -> None:
        self.identity: dict[str, list[PolicyDocument]] = {}
        self.resource: dict[str, PolicyDocument] = {}

    async def identity_policies(self, principal: Principal) -> Sequence[PolicyDocument]:
        return self.identity.get(principal.arn, [])

    async def resource_policy(self, resource_arn: str) -> PolicyDocument | None:
        return self.resource.get(resource_arn)


def allow(action: str, resource: str) -> PolicyDocument:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}],
    }


async def echo(request: Request) -> JSONResponse:
    principal = request.scope[PRINCIPAL_KEY]
    body = await request.body()
    return JSONResponse(
        {
            "principal": principal.arn,
            "service": request.scope[SERVICE_KEY],
            "body": body.decode(),
        }
    )


INNER = Starlette(
    routes=[
        Route("/{path:path}", echo, methods=["GET", "POST", "PUT", "DELETE"]),
        Route("/", echo, methods=["POST"]),
    ]
)


class Harness:
    def __init__(
        self, *, auth: str = "on", max_body: int = 1_000_000, inner: ASGIApp = INNER
    ) -> None:
        self.clock = ManualClock(AT.timestamp())
        self.keys = StaticCredentials(self.clock)
        self.keys.add(*ADMIN, root(ACCOUNT, ADMIN[0]))
        self.keys.add(*DEV, DEV_USER)
        self.keys.add(*OTHER, OTHER_USER)
        self.policies = Policies()
        self.code_urls = CodeUrls(b"k" * 32, self.clock)
        self.gate = AuthGate(
            inner,
            authenticator=Authenticator(
                self.keys,
                region="us-east-1",
                services=frozenset({"lambda", "sqs", "sns", "iam", "sts", "logs"}),
                clock=self.clock,
            ),
            authorizer=Authorizer(self.policies, self.policies, clock=self.clock),
            arns=ARNS,
            code_urls=self.code_urls,
            root=root(ACCOUNT),
            auth=auth,
            max_body=max_body,
        )

    def client(self, key: tuple[str, str] | None = ADMIN, service: str = "lambda") -> Any:
        auth = (
            None
            if key is None
            else SigV4Auth(key[0], key[1], region="us-east-1", service=service, at=AT)
        )
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.gate, client=("10.0.0.7", 5000)),
            base_url=BASE,
            auth=auth,
        )


def error_type(response: httpx.Response) -> str:
    return str(response.headers.get("x-amzn-errortype", ""))


def xml_code(response: httpx.Response) -> str:
    return ElementTree.fromstring(response.content).findtext(".//Code") or ""


async def test_a_signed_request_reaches_its_route_with_principal_service_and_body() -> None:
    h = Harness()
    async with h.client() as client:
        response = await client.post("/2015-03-31/functions/fn/invocations", content=b'{"n": 1}')
    assert response.status_code == 200, response.text
    assert response.json() == {
        "principal": f"arn:aws:iam::{ACCOUNT}:root",
        "service": "lambda",
        "body": '{"n": 1}',
    }


async def test_an_unsigned_request_is_refused_with_missing_authentication_token() -> None:
    h = Harness()
    async with h.client(key=None) as client:
        response = await client.get("/2015-03-31/functions/")
    assert response.status_code == 403
    assert error_type(response) == "MissingAuthenticationTokenException"
    assert response.headers["x-amzn-requestid"]


async def test_a_wrong_secret_and_an_unknown_key_get_awss_errors() -> None:
    h = Harness()
    async with h.client(key=(ADMIN[0], "not-the-secret")) as client:
        wrong = await client.get("/2015-03-31/functions/")
    async with h.client(key=("AKIAUNKNOWN000000000", "x")) as client:
        unknown = await client.get("/2015-03-31/functions/")
    assert (wrong.status_code, error_type(wrong)) == (403, "InvalidSignatureException")
    assert (unknown.status_code, error_type(unknown)) == (403, "UnrecognizedClientException")


async def test_a_wrong_region_is_an_invalid_signature() -> None:
    h = Harness()
    auth = SigV4Auth(*ADMIN, region="eu-west-1", service="lambda", at=AT)
    async with h.client() as client:
        response = await client.get("/2015-03-31/functions/", auth=auth)
    assert (response.status_code, error_type(response)) == (403, "InvalidSignatureException")
    assert "eu-west-1" in response.json()["message"]


async def test_a_user_without_a_policy_is_denied_in_awss_words() -> None:
    h = Harness()
    async with h.client(key=DEV) as client:
        response = await client.get("/2015-03-31/functions/fn")
    assert response.status_code == 403
    assert error_type(response) == "AccessDeniedException"
    assert response.json()["message"] == (
        f"User: arn:aws:iam::{ACCOUNT}:user/dev is not authorized to perform: "
        f"lambda:GetFunction on resource: {FN} because no identity-based policy allows the "
        "lambda:GetFunction action"
    )


async def test_a_policy_allows_only_what_it_names() -> None:
    h = Harness()
    h.policies.identity[DEV_USER.arn] = [allow("lambda:GetFunctionConfiguration", FN)]
    async with h.client(key=DEV) as client:
        allowed = await client.get("/2015-03-31/functions/fn/configuration")
        other_verb = await client.get("/2015-03-31/functions/fn")
        qualified = await client.get("/2015-03-31/functions/fn/configuration?Qualifier=1")
    assert allowed.status_code == 200
    assert allowed.json()["principal"] == DEV_USER.arn
    assert other_verb.status_code == 403
    # A qualified ARN is another resource (AWS: grant function:fn:* for versions and aliases).
    assert qualified.status_code == 403
    assert f"{FN}:1" in qualified.json()["message"]


async def test_an_explicit_deny_wins_and_says_so() -> None:
    h = Harness()
    h.policies.identity[DEV_USER.arn] = [
        allow("lambda:*", "*"),
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "lambda:DeleteFunction", "Resource": "*"}],
        },
    ]
    async with h.client(key=DEV) as client:
        listed = await client.get("/2015-03-31/functions/")
        deleted = await client.delete("/2015-03-31/functions/fn")
    assert listed.status_code == 200
    assert deleted.status_code == 403
    assert deleted.json()["message"].endswith("with an explicit deny in an identity-based policy")


async def test_a_resource_policy_grants_another_accounts_principal() -> None:
    h = Harness()
    async with h.client(key=OTHER) as client:
        denied = await client.post(f"/2015-03-31/functions/{FN}/invocations", content=b"{}")
        h.policies.identity[OTHER_USER.arn] = [allow("lambda:InvokeFunction", "*")]
        h.policies.resource[FN] = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": OTHER_USER.arn},
                    "Action": "lambda:InvokeFunction",
                    "Resource": FN,
                }
            ],
        }
        h.gate._authorizer.invalidate()  # type: ignore[union-attr]
        allowed = await client.post(f"/2015-03-31/functions/{FN}/invocations", content=b"{}")
    assert denied.status_code == 403
    assert allowed.status_code == 200, allowed.text


async def test_sqs_denials_are_in_sqss_json_protocol() -> None:
    h = Harness()
    async with h.client(key=DEV, service="sqs") as client:
        response = await client.post(
            "/",
            content=orjson.dumps({"QueueUrl": f"{BASE}/{ACCOUNT}/jobs"}),
            headers={
                "X-Amz-Target": "AmazonSQS.SendMessage",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
    assert response.status_code == 403
    assert response.headers["x-amzn-query-error"] == "AccessDenied;Sender"
    assert (
        f"sqs:SendMessage on resource: arn:aws:sqs:us-east-1:{ACCOUNT}:jobs"
        in (response.json()["message"])
    )


async def test_sns_denials_are_authorization_errors_in_query_xml() -> None:
    h = Harness()
    form = {"Action": "Publish", "TopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:t", "Message": "m"}
    async with h.client(key=DEV, service="sns") as client:
        response = await client.post(
            "/",
            content=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 403
    assert xml_code(response) == "AuthorizationError"


async def test_iam_denials_are_access_denied_and_sts_get_caller_identity_needs_nothing() -> None:
    h = Harness()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with h.client(key=DEV, service="iam") as client:
        iam = await client.post(
            "/", content=b"Action=CreateUser&UserName=x&Version=2010-05-08", headers=headers
        )
    async with h.client(key=DEV, service="sts") as client:
        sts = await client.post(
            "/", content=b"Action=GetCallerIdentity&Version=2011-06-15", headers=headers
        )
    assert (iam.status_code, xml_code(iam)) == (403, "AccessDenied")
    assert f"iam:CreateUser on resource: arn:aws:iam::{ACCOUNT}:user/x" in iam.text
    assert sts.status_code == 200
    assert sts.json()["service"] == "sts"


async def test_an_unknown_route_is_unknown_operation_and_never_reaches_a_route() -> None:
    # The inner app here serves every path: a route the gate has no action for must not be
    # let through on authentication alone (it answers what Nimbus's router would).
    h = Harness()
    async with h.client(key=DEV) as client:
        unknown = await client.get("/2099-01-01/whatever")
        wrong_method = await client.request("PATCH", "/2015-03-31/functions/fn")
    async with h.client() as client:
        as_root = await client.get("/2099-01-01/whatever")
    for response in (unknown, wrong_method, as_root):
        assert response.status_code == 404, response.text
        assert error_type(response) == "UnknownOperationException"
    assert unknown.json()["message"] == "No operation matches GET /2099-01-01/whatever"
    assert unknown.headers["x-amzn-requestid"]


async def test_a_query_request_without_a_known_action_is_invalid_action() -> None:
    h = Harness()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with h.client(key=DEV, service="sts") as client:
        other_sts = await client.post("/", content=b"Action=GetSessionToken", headers=headers)
        no_action = await client.post("/", content=b"Version=2011-06-15", headers=headers)
    for response in (other_sts, no_action):
        assert (response.status_code, xml_code(response)) == (400, "InvalidAction")


async def test_head_is_authorized_as_get() -> None:
    # Starlette serves HEAD with every GET route: the gate must authorize it as that GET.
    async with Harness().client(key=DEV) as client:
        denied = await client.head("/2015-03-31/functions/fn")
    h = Harness()
    h.policies.identity[DEV_USER.arn] = [allow("lambda:GetFunction", FN)]
    async with h.client(key=DEV) as client:
        allowed = await client.head("/2015-03-31/functions/fn")
        other = await client.head("/2015-03-31/functions/fn/configuration")
    assert denied.status_code == 403
    assert error_type(denied) == "AccessDeniedException"
    assert allowed.status_code == 200
    assert other.status_code == 403  # GetFunctionConfiguration is another action


async def test_a_repeated_query_parameter_is_authorized_on_the_value_handlers_use() -> None:
    # Handlers read Starlette's query_params: the last of a repeated name.
    h = Harness()
    h.policies.identity[DEV_USER.arn] = [allow("lambda:InvokeFunction", FN + ":prod")]
    async with h.client(key=DEV) as client:
        smuggled = await client.post(
            "/2015-03-31/functions/fn/invocations?Qualifier=prod&Qualifier=%24LATEST",
            content=b"{}",
        )
        last_prod = await client.post(
            "/2015-03-31/functions/fn/invocations?Qualifier=%24LATEST&Qualifier=prod",
            content=b"{}",
        )
    assert smuggled.status_code == 403
    assert f"resource: {FN} because" in smuggled.json()["message"]
    assert last_prod.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        b"a=1&a=2",
        b"a=1&b=&a=",
        b"a&a=3",
        b"Qualifier=prod&Qualifier=%24LATEST",
        b"x=%ff%fe&x=%e9",
        b"k=\xe9&k=v;w",
        b"=1&=2&&",
    ],
)
def test_the_gates_query_values_are_starlettes(query: bytes) -> None:
    params = QueryParams(query)
    assert query_values(query) == {key: params[key] for key in params}


class RecordingIam:
    """IamApi's ``call``, recording what it was asked to do."""

    account = ACCOUNT

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []

    async def call(self, action: str, form: Any, caller: Principal, request_id: str) -> str:
        self.calls.append((action, dict(form)))
        return "<ok/>"


def root_api(iam: RecordingIam) -> RootApi:
    return RootApi(
        queues=cast(QueueService, None), topics=cast(TopicService, None), iam=cast(IamApi, iam)
    )


async def test_a_repeated_form_parameter_is_authorized_as_iam_acts_on_it() -> None:
    iam = RecordingIam()
    h = Harness(inner=starlette_app(root_api(iam).routes()))
    h.policies.identity[DEV_USER.arn] = [
        allow("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/mine")
    ]
    form = urlencode({"Action": "PutRolePolicy", "PolicyName": "p", "PolicyDocument": "{}"})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    async with h.client(key=DEV, service="iam") as client:
        smuggled = await client.post(
            "/?RoleName=mine&RoleName=admin", content=form, headers=headers
        )
        # Query over body, then last value: both the gate and IAM see RoleName=mine.
        mine = await client.post(
            "/?RoleName=admin&RoleName=mine", content=form + "&RoleName=admin", headers=headers
        )
    assert (smuggled.status_code, xml_code(smuggled)) == (403, "AccessDenied")
    assert "role/admin because" in smuggled.text
    assert mine.status_code == 200, mine.text
    assert [(a, f["RoleName"]) for a, f in iam.calls] == [("PutRolePolicy", "mine")]


async def test_root_api_acts_on_the_form_the_gate_authorized() -> None:
    iam = RecordingIam()
    sent = False

    async def receive() -> Message:
        nonlocal sent
        sent = True
        return {"type": "http.request", "body": b"Action=DeleteRole&RoleName=admin"}

    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"",
        "headers": [],
        FORM_KEY: {"Action": "GetRole", "RoleName": "mine"},
    }
    await root_api(iam).root(Request(scope, receive))
    assert iam.calls == [("GetRole", {"Action": "GetRole", "RoleName": "mine"})]
    assert sent  # the body is still read, within root_api's bound


async def test_another_partitions_spelling_of_a_function_arn_does_not_pass_a_deny() -> None:
    h = Harness()
    h.policies.identity[DEV_USER.arn] = [
        allow("lambda:*", "*"),
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": "lambda:*", "Resource": FN}],
        },
    ]
    spellings = [
        FN.replace("arn:aws:", "arn:aws-x:"),
        FN.replace("arn:aws:", "arn::"),
    ]
    async with h.client(key=DEV) as client:
        tags = [await client.get(f"/2017-03-31/tags/{arn}") for arn in spellings]
        policy = await client.get(f"/2026-07-09/resource-policy/{FN}:$LATEST")
        latest = await client.get("/2015-03-31/functions/fn:$LATEST")
    for response in (*tags, policy, latest):
        assert response.status_code == 403, response.text
        assert "with an explicit deny" in response.json()["message"]


async def test_a_body_over_the_bound_is_413_before_it_is_read() -> None:
    h = Harness(max_body=1000)
    async with h.client() as client:
        response = await client.post("/2015-03-31/functions/fn/invocations", content=b"x" * 1001)
    assert response.status_code == 413
    assert error_type(response) == "RequestTooLargeException"


async def test_a_request_without_a_valid_key_is_refused_before_its_body_is_read() -> None:
    # Nobody without a key makes the server buffer a body (up to 70 MB for CreateFunction):
    # the key is checked first, so an oversized body with an unknown key is a 403, not a 413.
    h = Harness(max_body=1000)
    async with h.client(key=("AKIAUNKNOWN000000000", "x")) as client:
        response = await client.post("/2015-03-31/functions/fn/invocations", content=b"x" * 1001)
    assert (response.status_code, error_type(response)) == (403, "UnrecognizedClientException")


async def test_a_code_upload_over_the_bound_is_413_in_lambdas_words_for_it() -> None:
    h = Harness(max_body=1000)
    async with h.client() as client:
        response = await client.post("/2015-03-31/functions", content=b"x" * 1001)
    assert response.status_code == 413
    assert error_type(response) == "RequestEntityTooLargeException"
    assert "for the CreateFunction operation" in response.json()["message"]


async def test_a_body_past_6_mb_is_refused_on_any_route_but_the_code_uploads() -> None:
    # The 70 MB bound is CreateFunction's: a concurrency setting is not buffered past 6 MB.
    h = Harness(max_body=8 * 1024 * 1024)
    big = b" " * (6 * 1024 * 1024 + 1)
    async with h.client() as client:
        refused = await client.put("/2017-10-31/functions/fn/concurrency", content=big)
        code = await client.put("/2015-03-31/functions/fn/code", content=big)
    assert refused.status_code == 413
    assert error_type(refused) == "RequestEntityTooLargeException"
    assert code.status_code == 200  # through to the inner app


async def test_a_presigned_code_url_works_for_ten_minutes_without_credentials() -> None:
    h = Harness()
    url = h.code_urls.location(BASE, CODE_KEY)
    async with h.client(key=None) as client:
        fresh = await client.get(url)
        h.clock.advance(599)
        still = await client.get(url)
        h.clock.advance(2)
        expired = await client.get(url)
    assert fresh.status_code == 200 and still.status_code == 200
    assert expired.status_code == 403
    assert xml_code(expired) == "AccessDenied"
    assert "expired" in expired.text


async def test_a_tampered_code_url_is_denied() -> None:
    h = Harness()
    url = h.code_urls.location(BASE, CODE_KEY)
    other_blob = url.replace(CODE_KEY, "cd" * 32)
    later = url.replace("X-Nimbus-Expires=", "X-Nimbus-Expires=9")
    async with h.client(key=None) as client:
        responses = [await client.get(u) for u in (other_blob, later)]
    assert [r.status_code for r in responses] == [403, 403]
    assert {xml_code(r) for r in responses} == {"AccessDenied"}


async def test_a_code_url_signature_opens_no_other_path() -> None:
    h = Harness()
    query = h.code_urls.location(BASE, CODE_KEY).split("?", 1)[1]
    async with h.client(key=None) as client:
        response = await client.get(f"/2015-03-31/functions/fn?{query}")
    assert response.status_code == 403
    assert error_type(response) == "MissingAuthenticationTokenException"


async def test_auth_off_lets_unsigned_requests_act_as_root() -> None:
    h = Harness(auth="off")
    async with h.client(key=None) as client:
        lam = await client.get("/2015-03-31/functions/")
        sns = await client.post("/", content=b"Action=ListTopics")
    assert lam.json()["principal"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert lam.json()["service"] == "lambda"
    assert sns.json() == {
        "principal": f"arn:aws:iam::{ACCOUNT}:root",
        "service": "sns",
        "body": "Action=ListTopics",
    }


async def test_auth_off_still_dispatches_on_a_signatures_service() -> None:
    h = Harness(auth="off")
    async with h.client(key=("AKIAANY", "any"), service="iam") as client:
        response = await client.post("/", content=b"Action=ListUsers")
    assert response.json()["service"] == "iam"


@pytest.mark.parametrize(
    ("auth", "host", "refused"),
    [
        ("on", "0.0.0.0", False),
        ("off", "127.0.0.1", False),
        ("off", "127.8.9.10", False),
        ("off", "::1", False),
        ("off", "localhost", False),
        ("off", "0.0.0.0", True),
        ("off", "192.168.1.5", True),
        ("off", "nimbus.example.com", True),
        ("maybe", "127.0.0.1", True),
    ],
)
def test_auth_off_is_refused_off_loopback(auth: str, host: str, refused: bool) -> None:
    problem = loopback_problem(auth, host)
    assert (problem is not None) == refused
    if refused and auth == "off":
        assert problem is not None and host in problem and "NIMBUS_AUTH" in problem


@pytest.mark.parametrize("auth", ["", "ON", "of", "true", "maybe"])
def test_auth_that_is_neither_on_nor_off_is_refused_not_taken_for_off(auth: str) -> None:
    with pytest.raises(ValueError, match="'on' or 'off'"):
        Harness(auth=auth)
    with pytest.raises(ValueError, match="'on' or 'off'"):
        build_gate(
            Settings(auth=auth),
            credentials=StaticCredentials(ManualClock(0)),
            authorizer=cast(Authorizer, None),
            urls=CodeUrls(b"k" * 32, ManualClock(0)),
            arns=ARNS,
            clock=ManualClock(0),
        )


@pytest.mark.parametrize(("auth", "host"), [("off", "0.0.0.0"), ("off", "10.1.2.3"), ("x", "::1")])
async def test_serving_refuses_auth_off_off_loopback_before_building_anything(
    auth: str, host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_node(settings: Settings) -> Any:
        raise AssertionError("the node must not be built")

    monkeypatch.setattr(nimbus_app, "open_node", no_node)
    settings = Settings(auth=auth, host=host)
    with pytest.raises(ValueError, match="NIMBUS_AUTH"):
        await nimbus_app.serve(settings)
    with pytest.raises(ValueError, match="NIMBUS_AUTH"):
        nimbus_app.run(settings)
