"""SQS's message system attributes on send (AWSTraceHeader only, DataType String) and the
X-Amzn-Trace-Id a function's SDK call carries, with literal inputs."""

from __future__ import annotations

from typing import Any

import pytest

from nimbus.errors import SqsInvalidParameterError
from nimbus.frontend import sqs_params

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=0;Lineage=a87bd80c:1"


def test_the_trace_header_system_attribute_is_taken() -> None:
    raw = {"AWSTraceHeader": {"DataType": "String", "StringValue": TRACE}}
    assert sqs_params.trace_header_attribute(raw) == TRACE
    assert sqs_params.trace_header_attribute(None) is None
    assert sqs_params.trace_header_attribute({}) is None


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ({"SenderId": {"DataType": "String", "StringValue": "x"}}, "not a valid"),
        ({"AWSTraceHeader": {"DataType": "Number", "StringValue": "1"}}, "must be String"),
        ({"AWSTraceHeader": {"StringValue": TRACE}}, "must be String"),
        ({"AWSTraceHeader": {"DataType": "String"}}, "non-empty"),
        ({"AWSTraceHeader": {"DataType": "String", "StringValue": ""}}, "non-empty"),
        ({"AWSTraceHeader": {"DataType": "String", "StringValue": "x" * 5000}}, "at most"),
        ({"AWSTraceHeader": {"DataType": "String", "StringValue": 7}}, "wrong type"),
        ({"AWSTraceHeader": "Root=1"}, "wrong type"),
        (["AWSTraceHeader"], "wrong type"),
    ],
)
def test_other_system_attributes_are_invalid_parameter_values(raw: Any, says: str) -> None:
    with pytest.raises(SqsInvalidParameterError) as exc:
        sqs_params.trace_header_attribute(raw)
    assert says in exc.value.message
    assert exc.value.error_type == "InvalidParameterValue"


def test_the_http_header_is_unquoted_and_an_unusable_one_ignored() -> None:
    assert sqs_params.http_trace_header("Root=1-a;Lineage=a:1%7Cb:2") == "Root=1-a;Lineage=a:1|b:2"
    assert sqs_params.http_trace_header(None) is None
    assert sqs_params.http_trace_header("  ") is None
    assert sqs_params.http_trace_header("x" * 5000) is None
    assert sqs_params.http_trace_header("Root=1%0ASampled=0") is None  # a newline: no header


def test_the_system_attributes_digest_is_sqs_attribute_md5() -> None:
    # The same algorithm as MD5OfMessageAttributes, over {"AWSTraceHeader": String TRACE}.
    digest = sqs_params.system_md5(TRACE)
    assert digest is not None and len(digest) == 32
    assert digest != sqs_params.system_md5(TRACE + "x")
