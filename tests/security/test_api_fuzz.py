"""A fuzz run over every API route of a real `nimbus server`: generated bad input is answered
with an AWS error its SDK parses, never a 5xx AWS does not document, never a hang, and the
server is still up (and logged no traceback) afterwards.

The routes come from the frontend's route tables (``Apis``), so a new route is fuzzed as soon
as it is routed; each is paired with its botocore operation (``nimbus.testing.fuzz``), whose
input shape the bodies, query strings and headers are generated from. Real functions, a
version, an alias, a layer, a queue and a topic exist first, so requests that name them get
past the 404 into the code behind it. Hypothesis is derandomised and bounded in examples, so
a run is the same run every time.

Authentication is on: the fuzz's requests are signed (as the administrator) for what goes on
the wire, hostile path and undecodable query included, so that they pass the gate and meet
the validation behind it, as a malformed request from a real SDK user does on AWS. One in
four keeps the junk it drew for the gate's own headers (Authorization, X-Amz-Date, the token,
the content hash) instead: the gate's answers to those must be AWS errors too.
"""

from __future__ import annotations

import base64
import os
import re
import typing
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from nimbus.frontend.app import Apis
from nimbus.frontend.eventbridge_actions import EVENTS_OPERATIONS
from nimbus.testing import fuzz
from nimbus.testing.fuzz import RouteCase
from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, REGION
from nimbus.testing.signing import SigV4Auth
from nimbus.testing.wire_oracle import Answer, Protocol, documented_5xx, error_type, problems
from tests.integration.invoke.helpers import deploy
from tests.support import ROLE, NimbusServer, make_zip

# On an unexpected error hypothesis describes the strategy, which for a large input shape is
# tens of kilobytes: it warns so, and the suite's filterwarnings=error would mask the error.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

SESSION = botocore.session.get_session()
LAMBDA = SESSION.get_service_model("lambda")
SQS = SESSION.get_service_model("sqs")
SNS = SESSION.get_service_model("sns")
APIGW = SESSION.get_service_model("apigatewayv2")
SCHEDULER = SESSION.get_service_model("scheduler")
EVENTS = SESSION.get_service_model("events")
# Examples per Lambda route (~45 routes) and per SQS and SNS operation (~65, all on POST /);
# NIMBUS_FUZZ_SCALE multiplies both for a longer hunt than CI's.
SCALE = float(os.environ.get("NIMBUS_FUZZ_SCALE", "1"))
EXAMPLES = int(30 * SCALE)
QUEUE_EXAMPLES = int(25 * SCALE)
TIMEOUT_S = 15.0  # no answer in this long is a hang (no generated request waits on purpose)
ACCOUNT = "000000000000"
HANDLER = "def handler(event, context):\n    return event\n"
ZIP = make_zip({"app.py": HANDLER})
ZIP_B64 = base64.b64encode(ZIP).decode()


def all_routes() -> list[Any]:
    """Every route of every route table the ASGI app is built from. ``routes()`` only lists
    bound handlers, so a table needs none of its services to say what it routes."""
    tables = typing.get_type_hints(Apis).values()
    return [route for table in tables for route in table.routes(object.__new__(table))]


# The restJson APIs beside Lambda's on the same endpoint, each fuzzed against its own model
# and signed for its own service: (path prefixes, model, signing name).
OTHER_REST = (
    (("/v2/",), APIGW, "apigateway"),
    (("/schedules", "/schedule-groups", "/tags/"), SCHEDULER, "scheduler"),
)


def rest_api_of(template: str) -> tuple[Any, str] | None:
    """The (model, signing name) of a non-Lambda restJson route; None for Lambda's."""
    for prefixes, model, service in OTHER_REST:
        if template.startswith(prefixes):
            return model, service
    return None


CASES = fuzz.route_cases(all_routes(), LAMBDA)
LAMBDA_CASES = [c for c in CASES if c.template != "/" and rest_api_of(c.template) is None]


def _cases_of(model: Any) -> list[RouteCase]:
    """The routes of the restJson API ``model`` describes."""
    mine = []
    for route in all_routes():
        api = rest_api_of(getattr(route, "path", ""))
        if api is not None and api[0] is model:
            mine.append(route)
    return list(fuzz.route_cases(mine, model))


# API Gateway's management API (HTTP APIs) and EventBridge Scheduler's.
APIGW_CASES = _cases_of(APIGW)
SCHEDULER_CASES = _cases_of(SCHEDULER)


@dataclass(frozen=True)
class Target:
    server: NimbusServer
    client: httpx.Client  # signs as the administrator, for Lambda


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    server = NimbusServer(
        data_dir=tmp_path_factory.mktemp("fuzz") / "data",
        # Provisioned concurrency and reservations the fuzz asks for stay a handful of
        # environments: AWS keeps 100 of the account's concurrency unreserved.
        env={"NIMBUS_ACCOUNT_CONCURRENCY": "103"},
    )
    server.start()
    try:
        with server.http(timeout=TIMEOUT_S) as client:
            yield Target(server, client)
    finally:
        server.stop()


FUNCTIONS = ("fuzz-a", "fuzz-b")


def _resources(target: Target) -> dict[str, list[Any]]:
    """Make sure the named resources exist (an earlier route may have deleted them), and
    return the real values requests should name, by botocore member name."""
    lam = target.server.client("lambda")
    for name in FUNCTIONS:
        if target.client.get(f"/2015-03-31/functions/{name}").status_code == 404:
            deploy(lam, name, HANDLER, Publish=True)
    if target.client.get("/2015-03-31/functions/fuzz-a/aliases/live").status_code == 404:
        lam.create_alias(FunctionName="fuzz-a", Name="live", FunctionVersion="1")
    layers = lam.list_layer_versions(LayerName="fuzz-layer")["LayerVersions"]
    if not layers:
        layers = [lam.publish_layer_version(LayerName="fuzz-layer", Content={"ZipFile": ZIP})]
    layer_arn = layers[0]["LayerVersionArn"]
    queue_url = target.server.client("sqs").create_queue(QueueName="fuzz-q")["QueueUrl"]
    topic_arn = target.server.client("sns").create_topic(Name="fuzz-t")["TopicArn"]
    location = target.client.get("/2015-03-31/functions/fuzz-a").json()["Code"]["Location"]
    arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:fuzz-a"
    apigw = target.server.client("apigatewayv2")
    apis = [a for a in apigw.get_apis()["Items"] if a["Name"] == "fuzz-api"]
    api_id = (apis or [apigw.create_api(Name="fuzz-api", ProtocolType="HTTP", Target=arn)])[0][
        "ApiId"
    ]
    integrations = [i["IntegrationId"] for i in apigw.get_integrations(ApiId=api_id)["Items"]]
    routes = [r["RouteId"] for r in apigw.get_routes(ApiId=api_id)["Items"]]
    names = [*FUNCTIONS, arn, f"{arn}:1", "fuzz-a:live", f"{ACCOUNT}:function:fuzz-b"]
    return {
        "FunctionName": names,
        "name": names,
        "Resource": [arn, f"{arn}:live"],
        "Qualifier": ["1", "$LATEST", "live", "2"],
        "Name": ["live", "other"],
        "FunctionVersion": ["1", "$LATEST", "ALL"],
        "LayerName": ["fuzz-layer", layer_arn.rsplit(":", 1)[0]],
        "VersionNumber": [layer_arn.rsplit(":", 1)[1]],
        "Layers": [layer_arn],
        "StatementId": ["s1"],
        # The code URL is presigned now: its key is the path's last segment, query aside.
        "key": [location.split("?", 1)[0].rsplit("/", 1)[1].removesuffix(".zip")],
        "ZipFile": [ZIP_B64],
        "Role": [ROLE],
        "Handler": ["app.handler"],
        "QueueUrl": [queue_url],
        "QueueName": ["fuzz-q", "fuzz-new"],
        "TopicArn": [topic_arn],
        "TargetArn": [topic_arn],
        "Endpoint": [queue_url.replace("http", "arn"), arn],
        # A valid long poll waits for up to 20 s: only its bounds are fuzzed.
        "WaitTimeSeconds": [0, -1, 21],
        "apiId": [api_id, "nosuchapi0"],
        "integrationId": [*integrations, "nope"],
        "routeId": [*routes, "nope"],
        "stageName": ["$default", "dev"],
        "IntegrationUri": [arn, f"{arn}:live"],
        "Target": [f"integrations/{i}" for i in integrations] or [arn],
        "RouteKey": ["$default", "GET /items/{id}", "ANY /{proxy+}"],
        "PayloadFormatVersion": ["1.0", "2.0"],
        "IntegrationType": ["AWS_PROXY", "HTTP_PROXY"],
        "ProtocolType": ["HTTP", "WEBSOCKET"],
    }


@dataclass(frozen=True)
class FuzzRequest:
    method: str
    target: str  # the raw request target: path (already percent-encoded) and query
    headers: Mapping[str, str]
    body: bytes
    service: str = "lambda"  # the service it is signed for


# The headers SigV4 is made of: junk in them is the gate's to answer, not the route's.
GATE_HEADERS = frozenset({"authorization", "x-amz-date", "x-amz-security-token"})
GATE_HEADERS |= {"x-amz-content-sha256"}


def gate_junk(
    generated: st.SearchStrategy[dict[str, str]],
) -> st.SearchStrategy[dict[str, str]]:
    """``generated`` headers, three times in four without the gate's own (the request is
    then signed properly and reaches the route), else as drawn."""
    return st.builds(
        lambda headers, keep: (
            headers if keep else {k: v for k, v in headers.items() if k.lower() not in GATE_HEADERS}
        ),
        generated,
        st.sampled_from((False, False, False, True)),
    )


# What the gate answers a request it does not let through, in every protocol's spelling: a
# request signed as the administrator with no junk in its gate headers must never get one
# (else the fuzz would be meeting the gate, not the routes, and pass vacuously) -- but a
# denial of a resource in another account, which the account's root may not touch without
# that account's resource policy, as on AWS.
AUTHENTICATION_REFUSALS = frozenset(
    {
        "MissingAuthenticationTokenException",
        "MissingAuthenticationToken",
        "IncompleteSignatureException",
        "IncompleteSignature",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
    }
)
DENIALS = frozenset({"AccessDeniedException", "AccessDenied", "AuthorizationError"})
_ACCOUNT_ID = re.compile(rb"(?<![0-9])[0-9]{12}(?![0-9])")


def signed_clean(request: FuzzRequest) -> bool:
    return not any(name.lower() in GATE_HEADERS for name in request.headers)


def refused_by_the_gate(request: FuzzRequest, code: str | None) -> bool:
    """Whether the gate stopped ``request`` (signed clean) before any route saw it."""
    if not signed_clean(request) or code is None:
        return False
    if code in AUTHENTICATION_REFUSALS:
        return True
    named = request.target.encode() + b" " + request.body
    foreign = any(m.group() != ACCOUNT.encode() for m in _ACCOUNT_ID.finditer(named))
    return code in DENIALS and not foreign


def auth_for(request: FuzzRequest) -> SigV4Auth | None:
    """The administrator's signature for ``request``, or none when it brings its own
    (junk) Authorization: that is sent as drawn. Any other junk gate header it has is signed
    with it (X-Amz-Date the signer replaces by the real time)."""
    if any(name.lower() == "authorization" for name in request.headers):
        return None
    return SigV4Auth(
        ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, region=REGION, service=request.service
    )


_PARAM = re.compile(r"\{[^}]+\}")


def _fill(template: str, segments: Sequence[str]) -> str:
    values = iter(segments)
    return _PARAM.sub(lambda _: next(values), template)


def lambda_requests(
    case: RouteCase, known: fuzz.Known, model: Any = LAMBDA, service: str = "lambda"
) -> st.SearchStrategy[FuzzRequest]:
    op = model.operation_model(case.operation) if case.operation else None
    shape = op.input_shape if op is not None else None
    if shape is not None and "payload" in shape.serialization:
        body = st.one_of(
            fuzz.junk().map(fuzz.json_bytes), st.sampled_from(fuzz.BAD_BODIES), st.just(b"{}")
        )
    else:
        body = fuzz.body(shape, known, fuzz.body_members(shape))
    path = st.tuples(*(fuzz.segment(p, known) for p in case.operation_params)).map(
        lambda segments: _fill(case.template, segments)
    )
    return st.builds(
        lambda p, q, h, b: FuzzRequest(
            case.method, f"{p}?{fuzz.encode_query(q)}" if q else p, h, b, service
        ),
        path,
        fuzz.query(fuzz.located(shape, "querystring"), known),
        gate_junk(fuzz.headers(fuzz.located(shape, "header"), known)),
        body,
    )


def send(client: httpx.Client, request: FuzzRequest) -> Answer:
    try:
        response = client.request(
            request.method,
            request.target.split("?", 1)[0],
            # Latin-1, as HTTP/1.1 carries header values (httpx would encode str as ASCII).
            headers={k.encode(): v.encode("latin-1") for k, v in request.headers.items()},
            content=request.body,
            # The target goes on the wire as generated: httpx would normalise "..", "%2e".
            # (The signature covers that target, not the URL.)
            extensions={"target": request.target.encode()},
            auth=auth_for(request),
        )
    except httpx.TimeoutException as exc:
        raise AssertionError(f"no answer in {TIMEOUT_S} s (a hang): {request}") from exc
    return Answer(
        response.status_code,
        {k.lower(): v for k, v in response.headers.items()},
        response.content,
    )


def run(
    target: Target,
    strategy: st.SearchStrategy[FuzzRequest],
    examples: int,
    protocol: Protocol,
    allowed: frozenset[str] = frozenset(),
) -> None:
    """Send ``examples`` generated requests; fail listing every distinct problem found, each
    with the first request that showed it. Every example runs (no stop at the first failure,
    no shrinking against a live server): one run reports all there is to fix."""
    found: dict[str, tuple[FuzzRequest, Answer]] = {}

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def fuzzed(request: FuzzRequest) -> None:
        answer = send(target.client, request)
        found_here = problems(protocol, answer, allowed_5xx=allowed)
        refusal = error_type(protocol, answer)
        if refused_by_the_gate(request, refusal):
            found_here.append(f"the gate refused a properly signed request ({refusal})")
        for problem in found_here:
            found.setdefault(
                f"{problem} <- {request.headers.get('X-Amz-Target', '')}", (request, answer)
            )

    fuzzed()
    assert not found, "\n\n".join(
        f"{problem}\n  request: {_short(request)}\n  answer: {_short(answer)}"
        for problem, (request, answer) in found.items()
    )


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) < 2000 else f"{text[:2000]}... ({len(text)} characters)"


def test_every_route_table_is_enumerated() -> None:
    # The route tables are read, not listed here: an empty or partial enumeration would make
    # the fuzz pass vacuously.
    operations = {c.operation for c in LAMBDA_CASES}
    assert len(LAMBDA_CASES) >= 45, [c.id for c in LAMBDA_CASES]
    assert {"CreateFunction", "Invoke", "PublishLayerVersion", "PutFunctionConcurrency"} <= (
        operations
    )
    assert any(c.template == "/" for c in CASES)


@pytest.mark.parametrize("case", LAMBDA_CASES, ids=lambda c: c.id)
def test_lambda_route_answers_bad_input_with_aws_errors(target: Target, case: RouteCase) -> None:
    known = _resources(target)
    op = LAMBDA.operation_model(case.operation) if case.operation else None
    allowed = documented_5xx(op)
    # The presigned code-download URLs stand in for S3's, and answer in S3's XML.
    protocol: Protocol = "s3-xml" if case.template.startswith("/_nimbus/code/") else "rest-json"
    run(target, lambda_requests(case, known), EXAMPLES, protocol, allowed)


def test_apigateway_routes_are_enumerated() -> None:
    operations = {c.operation for c in APIGW_CASES}
    assert {"CreateApi", "GetApis", "CreateRoute", "UpdateStage"} <= operations, operations


@pytest.mark.parametrize("case", APIGW_CASES, ids=lambda c: c.id)
def test_apigateway_route_answers_bad_input_with_aws_errors(
    target: Target, case: RouteCase
) -> None:
    known = _resources(target)
    op = APIGW.operation_model(case.operation) if case.operation else None
    strategy = lambda_requests(case, known, APIGW, "apigateway")
    run(target, strategy, EXAMPLES, "rest-json", documented_5xx(op))


def test_scheduler_routes_are_enumerated() -> None:
    operations = {c.operation for c in SCHEDULER_CASES}
    assert {"CreateSchedule", "ListSchedules", "CreateScheduleGroup"} <= operations, operations


@pytest.mark.parametrize("case", SCHEDULER_CASES, ids=lambda c: c.id)
def test_scheduler_route_answers_bad_input_with_aws_errors(target: Target, case: RouteCase) -> None:
    known = _resources(target)
    op = SCHEDULER.operation_model(case.operation) if case.operation else None
    strategy = lambda_requests(case, known, SCHEDULER, "scheduler")
    run(target, strategy, EXAMPLES, "rest-json", documented_5xx(op))


def sqs_requests(operation: str, known: fuzz.Known) -> st.SearchStrategy[FuzzRequest]:
    shape = SQS.operation_model(operation).input_shape
    return st.builds(
        lambda h, t, b: FuzzRequest("POST", "/", {**h, "X-Amz-Target": t}, b, "sqs"),
        gate_junk(fuzz.headers({}, known)),
        # Now and then the operation's name is mangled (an SDK's typo, another service's).
        st.sampled_from(
            [f"AmazonSQS.{operation}"] * 9
            + [f"AmazonSQS.{operation.lower()}", "AmazonSQS.", f"AmazonSQS.{operation}."]
        ),
        fuzz.body(shape, known, fuzz.body_members(shape)),
    )


@pytest.mark.parametrize("operation", SQS.operation_names)
def test_sqs_json_protocol_answers_bad_input_with_aws_errors(
    target: Target, operation: str
) -> None:
    known = _resources(target)
    run(target, sqs_requests(operation, known), QUEUE_EXAMPLES, "sqs-json")


def events_requests(operation: str, known: fuzz.Known) -> st.SearchStrategy[FuzzRequest]:
    """EventBridge's JSON 1.1 protocol, as SQS's (X-Amz-Target, a JSON body), signed for
    ``events``."""
    shape = EVENTS.operation_model(operation).input_shape
    return st.builds(
        lambda h, t, b: FuzzRequest(
            "POST",
            "/",
            {**h, "X-Amz-Target": t, "Content-Type": "application/x-amz-json-1.1"},
            b,
            "events",
        ),
        gate_junk(fuzz.headers({}, known)),
        st.sampled_from(
            [f"AWSEvents.{operation}"] * 9 + [f"AWSEvents.{operation.lower()}", "AWSEvents."]
        ),
        fuzz.body(shape, known, fuzz.body_members(shape)),
    )


@pytest.mark.parametrize("operation", sorted(EVENTS_OPERATIONS))
def test_eventbridge_json_protocol_answers_bad_input_with_aws_errors(
    target: Target, operation: str
) -> None:
    # The same wire shape as SQS's JSON protocol (``__type`` and ``message``): one oracle.
    known = _resources(target)
    run(target, events_requests(operation, known), QUEUE_EXAMPLES, "sqs-json")


def _form(action: str, shape: Any, value: dict[str, Any]) -> bytes:
    pairs = [("Action", action), ("Version", "2010-03-31")]
    if shape is not None:
        fuzz.flatten_query(shape, value, "", pairs)
    return fuzz.encode_query(pairs).encode()


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sns_requests(operation: str, known: fuzz.Known) -> st.SearchStrategy[FuzzRequest]:
    shape = SNS.operation_model(operation).input_shape
    query = st.lists(
        st.tuples(st.sampled_from(("Action", "TopicArn", "Message")), st.text(max_size=8)),
        max_size=2,
    )
    formed = st.builds(
        lambda value, q: FuzzRequest(
            "POST",
            f"/?{fuzz.encode_query(q)}" if q else "/",
            FORM,
            _form(operation, shape, value),
            "sns",
        ),
        fuzz.structure(shape, known) if shape is not None else st.just({}),
        query,
    )
    raw = st.builds(
        lambda b: FuzzRequest("POST", "/", FORM, b, "sns"),
        st.one_of(
            st.sampled_from(fuzz.BAD_BODIES),
            st.sampled_from(
                (
                    b"Action=",
                    b"Action=Nope",
                    b"Action=SendMessage",
                    f"Action={operation}&Action=CreateTopic".encode(),
                )
            ),
        ),
    )
    return st.one_of(formed, formed, formed, raw)


@pytest.mark.parametrize("operation", SNS.operation_names)
def test_sns_query_protocol_answers_bad_input_with_aws_errors(
    target: Target, operation: str
) -> None:
    known = _resources(target)
    run(target, sns_requests(operation, known), QUEUE_EXAMPLES, "query")


OVERSIZE = 7 * 1024 * 1024  # past every 6 MB limit but the code uploads' 70 MB


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.method in ("POST", "PUT")], ids=lambda c: c.id
)
def test_oversized_streamed_body_is_refused_or_parsed_never_a_5xx(
    target: Target, case: RouteCase
) -> None:
    known = _resources(target)
    path = _fill(case.template, [str(known.get(p, ["x"])[0]) for p in case.operation_params])

    def chunks() -> Iterator[bytes]:
        # Streamed without a Content-Length: the size must be counted, not trusted.
        yield b'{"Payload": "'
        for _ in range(OVERSIZE // 65_536):
            yield b"a" * 65_536
        yield b'"}'

    protocol: Protocol = "rest-json" if case.template != "/" else "sqs-json"
    headers = {"X-Amz-Target": "AmazonSQS.SendMessage"} if protocol == "sqs-json" else {}
    service = "sqs" if protocol == "sqs-json" else "lambda"
    other = rest_api_of(case.template)
    if other is not None:
        service = other[1]
    auth = SigV4Auth(ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, region=REGION, service=service)
    try:
        # Signed, so it meets the size checks behind the gate: the signer reads the stream to
        # hash it, but it still goes chunked, with no Content-Length to trust.
        response = target.client.request(
            case.method, path, content=chunks(), headers=headers, auth=auth
        )
    except httpx.WriteError:
        return  # answered (and closed) before the body was all sent: it was not buffered
    answer = Answer(response.status_code, dict(response.headers), response.content)
    assert not problems(protocol, answer), (case.id, answer)


def test_server_survives_the_run_and_logged_no_traceback(target: Target) -> None:
    # Runs last (pytest keeps file order): the fuzz above has hit every route by now.
    assert target.client.get("/2016-08-19/account-settings").status_code == 200
    assert target.server.process is not None and target.server.process.poll() is None
    log = Path(target.server.log_path or "").read_text(errors="replace")
    assert "Traceback" not in log, log[-5000:]
