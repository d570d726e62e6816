"""Route tables driven over ASGI, as the server assembles them (the fast path in front of
Starlette), with fakes behind: qualifiers read through the one resolver, and errors in the
wire format of each protocol whichever lane served the request."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from xml.etree import ElementTree

import httpx
import orjson
import pytest
from botocore.eventstream import EventStreamBuffer
from sqlalchemy.ext.asyncio import create_async_engine

from nimbus.auth.node_key import NodeKey
from nimbus.control.functions import FunctionService
from nimbus.control.resolver import QualifierResolver
from nimbus.control.versions import VersionService
from nimbus.dataplane.counting import Counting
from nimbus.errors import TooManyRequestsError
from nimbus.frontend.app import starlette_app
from nimbus.frontend.fast_path import HotRoutes
from nimbus.frontend.functions_api import FunctionsApi
from nimbus.frontend.invoke_api import InvokeApi
from nimbus.frontend.root_api import RootApi
from nimbus.model.function import LayerRef
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.queues.service import QueueService
from nimbus.queues.topics import TopicService
from nimbus.store.blobs import BlobStore
from nimbus.store.functions import FunctionRepository
from nimbus.store.group_commit import GroupCommit
from nimbus.store.queues import QueueRepository
from nimbus.store.topics import TopicRepository
from nimbus.testing.acceptor import FakeEventAcceptor
from nimbus.testing.catalog import ARNS, FakeAliases, FakeVersions, function_config
from nimbus.testing.clock import ManualClock
from nimbus.testing.invoker import FakeInvoker

ENDPOINT = "http://testserver"
FUNCTIONS = "/2015-03-31/functions"


def _script(call: InvokeCall) -> InvokeOutcome | Exception:
    if call.function_name == "throttled":
        return TooManyRequestsError("Rate exceeded", Reason="X", retryAfterSeconds=1)
    if call.function_name == "buggy":
        return RuntimeError("a bug in the data plane")
    return InvokeOutcome(request_id="r-1", executed_version="1", payload=b'{"ok": true}')


class Rig:
    def __init__(self, tmp_path: Path) -> None:
        clock = ManualClock()
        # The services below that own a store are never asked to touch it in these tests
        # (every path exercised fails, or answers, before a read or write).
        engine = create_async_engine("sqlite+aiosqlite://")
        self.engine = engine
        commit = GroupCommit(engine)
        self.versions = FakeVersions(
            {
                ("f", "$LATEST"): function_config("f"),
                ("f", "1"): function_config("f", "1"),
                ("f", "2"): function_config("f", "2", description="two"),
            }
        )
        resolver = QualifierResolver(
            functions=self.versions, aliases=FakeAliases({("f", "live"): ("2", {"1": 0.5})})
        )
        self.invoker = FakeInvoker(_script)
        self.events = FakeEventAcceptor()

        async def no_layers(arns: Sequence[str]) -> tuple[tuple[LayerRef, ...], int]:
            return (), 0

        node_key = NodeKey.generate()
        functions = FunctionService(
            repo=FunctionRepository(engine, sealer=node_key),
            blobs=BlobStore(tmp_path / "code"),
            arns=ARNS,
            clock=clock,
            layers=no_layers,
            runnable_runtimes=lambda: ["python3.11"],
        )

        async def no_alias_users(name: str, version: str) -> list[str]:
            return []

        queues = QueueService(
            repo=QueueRepository(engine),
            commit=commit,
            clock=clock,
            endpoint_url=ENDPOINT,
            region=ARNS.region,
            account_id=ARNS.account,
        )
        invoke = InvokeApi(invoker=self.invoker, events=self.events, resolver=resolver, arns=ARNS)
        root = RootApi(
            queues=queues,
            topics=TopicService(
                repo=TopicRepository(engine),
                commit=commit,
                queues=queues,
                accept=self.events.accept,
                clock=clock,
                region=ARNS.region,
                account_id=ARNS.account,
                endpoint_url=ENDPOINT,
            ),
        )
        functions_api = FunctionsApi(
            functions=functions,
            versions=VersionService(
                repo=FunctionRepository(engine, sealer=node_key),
                functions=functions,
                alias_users=no_alias_users,
                clock=clock,
            ),
            resolver=resolver,
            limits=Counting(clock=clock, account_limit=1000),
            blobs=BlobStore(tmp_path / "code"),
            arns=ARNS,
        )
        self.app = HotRoutes(
            starlette_app([*functions_api.routes(), *invoke.routes(), *root.routes()]),
            invoke=invoke.invoke,
            root=root.root,
        )


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    rig = Rig(tmp_path)
    yield rig
    await rig.engine.dispose()


@pytest.fixture
async def client(rig: Rig) -> AsyncIterator[httpx.AsyncClient]:
    # Starlette re-raises unhandled errors after answering (for the server to log them).
    transport = httpx.ASGITransport(app=rig.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ENDPOINT) as client:
        yield client


def _rest_error(response: httpx.Response, status: int, error_type: str) -> str:
    assert response.status_code == status
    assert response.headers["x-amzn-errortype"] == error_type
    body = response.json()
    assert body["Type"] == ("User" if status < 500 else "Service")
    message: str = body["message"]
    return message


# --- reads through the resolver ------------------------------------------------------------


@pytest.mark.parametrize(
    ("qualifier", "version", "arn_suffix"),
    [
        (None, "$LATEST", ""),
        ("$LATEST", "$LATEST", ":$LATEST"),  # as asked: AWS qualifies an explicit $LATEST too
        ("1", "1", ":1"),
        ("live", "2", ":live"),
    ],
)
async def test_configuration_reads_what_the_qualifier_names(
    client: httpx.AsyncClient, qualifier: str | None, version: str, arn_suffix: str
) -> None:
    query = "" if qualifier is None else f"?Qualifier={qualifier}"
    response = await client.get(f"{FUNCTIONS}/f/configuration{query}")
    assert response.status_code == 200
    body = response.json()
    assert body["Version"] == version
    # Through an alias AWS reports the alias ARN, with the version it points to.
    assert body["FunctionArn"] == ARNS.function("f") + arn_suffix


async def test_an_alias_read_is_its_primary_version_not_a_weighted_pick(
    rig: Rig, client: httpx.AsyncClient
) -> None:
    for _ in range(5):
        response = await client.get(f"{FUNCTIONS}/f:live/configuration")
        assert response.json()["Description"] == "two"
    assert set(rig.versions.reads) == {("f", "2")}


async def test_an_unknown_alias_is_not_found(client: httpx.AsyncClient) -> None:
    response = await client.get(f"{FUNCTIONS}/f/configuration?Qualifier=gone")
    message = _rest_error(response, 404, "ResourceNotFoundException")
    assert message == f"Function not found: {ARNS.function('f', 'gone')}"


async def test_dry_run_resolves_without_invoking(rig: Rig, client: httpx.AsyncClient) -> None:
    headers = {"X-Amz-Invocation-Type": "DryRun"}
    ok = await client.post(f"{FUNCTIONS}/f:live/invocations", headers=headers)
    assert ok.status_code == 204
    missing = await client.post(f"{FUNCTIONS}/f:gone/invocations", headers=headers)
    _rest_error(missing, 404, "ResourceNotFoundException")
    assert rig.invoker.calls == []


@pytest.mark.parametrize(
    ("qualifier", "message"),
    [
        ("$LATEST", "$LATEST version cannot be deleted without deleting the function."),
        ("live", "Deletion of aliases is not currently supported."),
    ],
)
async def test_delete_function_refuses_latest_and_aliases(
    client: httpx.AsyncClient, qualifier: str, message: str
) -> None:
    response = await client.delete(f"{FUNCTIONS}/f?Qualifier={qualifier}")
    assert _rest_error(response, 400, "InvalidParameterValueException") == message


# --- invoke (the fast path) ----------------------------------------------------------------


async def test_invoke_runs_and_reports_the_version(rig: Rig, client: httpx.AsyncClient) -> None:
    response = await client.post(f"{FUNCTIONS}/f/invocations?Qualifier=live", content=b"{}")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response.headers["x-amz-executed-version"] == "1"
    [call] = rig.invoker.calls
    assert (call.function_name, call.qualifier) == ("f", "live")


async def test_event_invokes_are_accepted_not_run(rig: Rig, client: httpx.AsyncClient) -> None:
    response = await client.post(
        f"{FUNCTIONS}/f/invocations", content=b"{}", headers={"X-Amz-Invocation-Type": "Event"}
    )
    assert response.status_code == 202
    assert response.headers["x-amzn-requestid"] == "event-1"
    assert [c.function_name for c in rig.events.accepted] == ["f"]
    assert rig.invoker.calls == []


async def test_invoke_errors_are_rest_json(client: httpx.AsyncClient) -> None:
    bad = await client.post(
        f"{FUNCTIONS}/f/invocations", headers={"X-Amz-Invocation-Type": "Later"}
    )
    _rest_error(bad, 400, "InvalidParameterValueException")
    throttled = await client.post(f"{FUNCTIONS}/throttled/invocations")
    _rest_error(throttled, 429, "TooManyRequestsException")
    assert throttled.headers["retry-after"] == "1"
    buggy = await client.post(f"{FUNCTIONS}/buggy/invocations")
    assert _rest_error(buggy, 500, "ServiceException") == "An internal error occurred."


# --- InvokeWithResponseStream (through Starlette) -------------------------------------------

STREAMING = "/2021-11-15/functions/{}/response-streaming-invocations"


async def test_stream_invoke_answers_an_event_stream(rig: Rig, client: httpx.AsyncClient) -> None:
    response = await client.post(STREAMING.format("f") + "?Qualifier=live", content=b"{}")
    assert response.status_code == 200
    assert response.headers["x-amz-executed-version"] == "1"
    assert response.headers["x-amzn-requestid"] == "r-1"
    assert response.headers["content-type"] == "application/json"  # one buffered response
    buffer = EventStreamBuffer()
    buffer.add_data(response.content)
    events = [(m.headers[":event-type"], m.payload) for m in buffer]
    assert events == [("PayloadChunk", b'{"ok": true}'), ("InvokeComplete", b"{}")]
    [call] = rig.invoker.calls
    assert (call.function_name, call.qualifier) == ("f", "live")


async def test_stream_invoke_refuses_what_aws_refuses(rig: Rig, client: httpx.AsyncClient) -> None:
    event = await client.post(STREAMING.format("f"), headers={"X-Amz-Invocation-Type": "Event"})
    message = _rest_error(event, 400, "InvalidParameterValueException")
    assert message == "Invocation type 'Event' is not valid: use RequestResponse or DryRun."
    not_json = await client.post(STREAMING.format("f"), content=b"{nope")
    _rest_error(not_json, 400, "InvalidRequestContentException")
    throttled = await client.post(STREAMING.format("throttled"))
    _rest_error(throttled, 429, "TooManyRequestsException")
    dry = await client.post(STREAMING.format("f"), headers={"X-Amz-Invocation-Type": "DryRun"})
    assert dry.status_code == 204
    missing = await client.post(
        STREAMING.format("f:gone"), headers={"X-Amz-Invocation-Type": "DryRun"}
    )
    _rest_error(missing, 404, "ResourceNotFoundException")
    assert [c.function_name for c in rig.invoker.calls] == ["throttled"]


# --- POST /: SQS's JSON protocol and SNS's query protocol ----------------------------------


async def _sqs(client: httpx.AsyncClient, operation: str, body: bytes) -> httpx.Response:
    return await client.post(
        "/",
        content=body,
        headers={
            "X-Amz-Target": f"AmazonSQS.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )


@pytest.mark.parametrize(
    ("operation", "body", "shape", "query_error"),
    [
        (
            "GetQueueUrl",
            b'{"QueueName": "nope"}',
            "QueueDoesNotExist",
            "AWS.SimpleQueueService.NonExistentQueue;Sender",
        ),
        ("ListQueues", b"{not json", "InvalidParameterValue", "InvalidParameterValue;Sender"),
        ("ListQueues", b"[1]", "InvalidParameterValue", "InvalidParameterValue;Sender"),
        ("Frobnicate", b"{}", "InvalidAction", "InvalidAction;Sender"),
    ],
)
async def test_sqs_errors_are_sqs_json(
    client: httpx.AsyncClient, operation: str, body: bytes, shape: str, query_error: str
) -> None:
    response = await _sqs(client, operation, body)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/x-amz-json-1.0"
    assert response.headers["x-amzn-query-error"] == query_error
    assert "x-amzn-errortype" not in response.headers
    assert response.json()["__type"] == f"com.amazonaws.sqs#{shape}"


async def test_sqs_success_is_json(client: httpx.AsyncClient) -> None:
    response = await _sqs(client, "ListQueues", b"{}")
    assert response.status_code == 200
    assert orjson.loads(response.content) == {}
    assert response.headers["x-amzn-requestid"]


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"Action": "Publish", "Message": "hi"}, "InvalidParameter"),
        ({"Action": "SendMessage"}, "InvalidAction"),
        ({}, "InvalidAction"),
    ],
)
async def test_query_errors_are_xml(
    client: httpx.AsyncClient, form: dict[str, str], code: str
) -> None:
    response = await client.post("/", data=form)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "ErrorResponse"
    assert root.findtext("Error/Type") == "Sender"
    assert root.findtext("Error/Code") == code
    assert len(root.findtext("RequestId") or "") == 36  # a fresh UUID per request


async def test_query_success_is_xml(client: httpx.AsyncClient) -> None:
    response = await client.post("/", data={"Action": "ListTopics"})
    assert response.status_code == 200
    assert ElementTree.fromstring(response.content).tag.endswith("ListTopicsResponse")


# --- the Starlette lane --------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [("GET", "/nope"), ("GET", "/"), ("PUT", "/")])
async def test_unknown_operations(client: httpx.AsyncClient, method: str, path: str) -> None:
    response = await client.request(method, path)
    message = _rest_error(response, 404, "UnknownOperationException")
    assert message == f"No operation matches {method} {path}"
