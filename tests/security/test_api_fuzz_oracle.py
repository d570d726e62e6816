"""The API fuzz's pure parts, with literals: what counts as an AWS error an SDK can parse, which
5xx an operation documents, how routes pair with botocore operations, and the query
protocol's encoding. If these were wrong, the fuzz would pass vacuously or fail for nothing."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from starlette.routing import Route

from nimbus.testing import fuzz
from nimbus.testing.wire_oracle import Answer, documented_5xx, error_type, problems

SESSION = botocore.session.get_session()
LAMBDA = SESSION.get_service_model("lambda")
SNS = SESSION.get_service_model("sns")

REST_OK = Answer(400, {"x-amzn-errortype": "InvalidParameterValueException"}, b'{"message": "no"}')


def test_a_rest_json_error_with_type_and_message_has_no_problem() -> None:
    assert problems("rest-json", REST_OK) == []
    assert error_type("rest-json", REST_OK) == "InvalidParameterValueException"


def test_a_bare_4xx_is_a_problem() -> None:
    bare = Answer(400, {}, b'{"message": "Invalid HTTP request received."}')
    assert problems("rest-json", bare) == ["status 400 without a rest-json error code"]
    untyped_message = Answer(404, {"x-amzn-errortype": "ResourceNotFoundException"}, b"nope")
    assert problems("rest-json", untyped_message) == ["ResourceNotFoundException without a message"]


def test_an_undocumented_5xx_is_a_problem_and_a_documented_one_is_not() -> None:
    service = Answer(500, {"x-amzn-errortype": "ServiceException"}, b'{"message": "x"}')
    assert problems("rest-json", service, allowed_5xx={"ResourceNotReadyException"}) == [
        "status 500 (ServiceException) is not a documented error"
    ]
    not_ready = Answer(502, {"x-amzn-errortype": "ResourceNotReadyException"}, b'{"message":""}')
    assert problems("rest-json", not_ready, allowed_5xx={"ResourceNotReadyException"}) == []


def test_a_success_has_no_problem_and_head_needs_no_body() -> None:
    assert problems("rest-json", Answer(204, {}, b"")) == []
    head = Answer(404, {"x-amzn-errortype": "ResourceNotFoundException"}, b"")
    assert problems("rest-json", head, head=True) == []


def test_the_sqs_json_error_code_is_read_from_type() -> None:
    good = Answer(400, {}, b'{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "m"}')
    assert error_type("sqs-json", good) == "QueueDoesNotExist"
    assert problems("sqs-json", good) == []
    # A restJson error on POST / with X-Amz-Target is unreadable to an SQS client.
    assert problems("sqs-json", REST_OK) == ["status 400 without a sqs-json error code"]


def test_the_query_error_code_is_read_from_xml_and_bad_xml_has_none() -> None:
    xml = b"<ErrorResponse><Error><Code>InvalidAction</Code><Message/></Error></ErrorResponse>"
    assert error_type("query", Answer(400, {}, xml)) == "InvalidAction"
    control = xml.replace(b"<Message/>", b"<Message>\x07</Message>")
    assert error_type("query", Answer(400, {}, control)) is None


def test_lambda_invoke_documents_502s_but_never_service_exception() -> None:
    allowed = documented_5xx(LAMBDA.operation_model("Invoke"))
    assert "ResourceNotReadyException" in allowed
    assert "ServiceException" not in allowed
    assert documented_5xx(LAMBDA.operation_model("GetFunction")) == frozenset()
    assert documented_5xx(None) == frozenset()


async def _handler(request: Any) -> Any:
    raise AssertionError("never called")


def test_routes_pair_with_the_operation_serving_their_method_and_uri() -> None:
    routes = [
        Route("/2017-10-31/functions/{name}/concurrency", _handler, methods=["PUT"], name="put"),
        Route("/2015-03-31/functions/", _handler, methods=["GET"], name="ListFunctions"),
        Route("/_nimbus/logs/{name}", _handler, methods=["GET"], name="FunctionLogs"),
    ]
    cases = fuzz.route_cases(routes, LAMBDA)
    assert [(c.method, c.operation, c.operation_params) for c in cases] == [
        ("PUT", "PutFunctionConcurrency", ("FunctionName",)),
        ("GET", "ListFunctions", ()),
        ("GET", None, ("name",)),  # Nimbus's own route: fuzzed by its parameter names
    ]


def test_the_s3_xml_error_code_is_read_from_error_and_query_xml_is_not_s3s() -> None:
    # The presigned code-download URLs answer as S3 does: <Error><Code>, no ErrorResponse.
    s3 = b'<?xml version="1.0"?>\n<Error><Code>AccessDenied</Code><Message>x</Message></Error>'
    assert error_type("s3-xml", Answer(403, {}, s3)) == "AccessDenied"
    assert problems("s3-xml", Answer(403, {}, s3)) == []
    query = b"<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>"
    assert error_type("s3-xml", Answer(400, {}, query)) is None
    assert error_type("query", Answer(403, {}, s3)) is None
    assert problems("s3-xml", Answer(404, {}, b"Not Found")) == [
        "status 404 without a s3-xml error code"
    ]


def test_the_query_encoding_follows_the_model() -> None:
    shape = SNS.operation_model("Publish").input_shape
    out: list[tuple[str, str]] = []
    value = {
        "Message": "m",
        "MessageAttributes": {"k": {"DataType": "String", "StringValue": "v"}},
        "Nope": [1],
    }
    fuzz.flatten_query(shape, value, "", out)
    assert out == [
        ("Message", "m"),
        ("MessageAttributes.entry.1.Name", "k"),
        ("MessageAttributes.entry.1.Value.DataType", "String"),
        ("MessageAttributes.entry.1.Value.StringValue", "v"),
        ("Nope", "[1]"),
    ]
    assert fuzz.encode_query([("a b", "%ZZ"), ("c", "é&")]) == "a%20b=%ZZ&c=%C3%A9%26"


@pytest.mark.parametrize("kind", ["querystring", "header", "uri"])
def test_members_are_found_where_the_model_serialises_them(kind: str) -> None:
    shape = LAMBDA.operation_model("Invoke").input_shape
    wanted = {
        "querystring": {"Qualifier"},
        "header": {"X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context"},
        "uri": {"FunctionName"},
    }[kind]
    assert wanted <= set(fuzz.located(shape, kind))
    assert fuzz.body_members(shape) == ["Payload"]
