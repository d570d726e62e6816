"""A streamed invocation as its caller reads it, and how its end becomes InvokeComplete."""

from __future__ import annotations

import asyncio

from nimbus.dataplane.streaming import Ran, StreamingInvocation, error_code_of, stream_outcome
from nimbus.errors import TooManyRequestsError
from nimbus.model.invocation import InvocationResult
from nimbus.model.streaming import StreamOutcome
from nimbus.worker.log_format import timeout_payload
from nimbus.worker.response_stream import EndKind, ResponseStream, StreamEnd

OK = InvocationResult(payload=b"", log_tail="START\nREPORT\n")


def test_error_codes_are_the_error_documents_type() -> None:
    assert error_code_of(b'{"errorType": "Sandbox.Timedout", "errorMessage": "x"}') == (
        "Sandbox.Timedout"
    )
    assert error_code_of(b"not json") == "Unhandled"
    assert error_code_of(b'{"errorType": 3}') == "Unhandled"
    assert error_code_of(b"[1]") == "Unhandled"


def test_a_clean_stream_has_no_error() -> None:
    outcome = stream_outcome(began=True, end=StreamEnd(), ran=OK, limit=100)
    assert outcome == StreamOutcome(log_tail="START\nREPORT\n")


def test_the_invocations_own_failure_comes_first() -> None:
    timed_out = InvocationResult(payload=timeout_payload("r", 3.0), function_error="Unhandled")
    outcome = stream_outcome(
        began=True, end=StreamEnd(kind=EndKind.TRUNCATED), ran=timed_out, limit=100
    )
    assert outcome.error_code == "Sandbox.Timedout"
    assert outcome.error_details == timeout_payload("r", 3.0).decode()


def test_error_trailers_and_the_size_limit_are_reported() -> None:
    trailers = StreamEnd(error_type="Error", error_body=b'{"errorMessage": "m"}')
    outcome = stream_outcome(began=True, end=trailers, ran=OK, limit=100)
    assert (outcome.error_code, outcome.error_details) == ("Error", '{"errorMessage": "m"}')
    too_large = stream_outcome(began=True, end=StreamEnd(kind=EndKind.TOO_LARGE), ran=OK, limit=100)
    assert too_large.error_code == "Function.ResponseSizeTooLarge"
    assert "maximum allowed payload size (100 bytes)" in (too_large.error_details or "")


def test_a_failure_after_the_stream_was_handed_out_is_reported_not_raised() -> None:
    outcome = stream_outcome(began=False, end=None, ran=RuntimeError("gone"), limit=1)
    assert outcome.error_code == "ServiceException"
    throttled = stream_outcome(began=False, end=None, ran=TooManyRequestsError("x"), limit=1)
    assert throttled.error_code == "TooManyRequestsException"


async def _read(invocation: StreamingInvocation) -> tuple[str, list[bytes], StreamOutcome]:
    content_type = await invocation.content_type()
    chunks = [c async for c in invocation.chunks()]
    return content_type, chunks, await invocation.outcome()


async def test_a_streamed_response_is_read_as_written() -> None:
    loop = asyncio.get_running_loop()
    stream, ran = ResponseStream(), loop.create_future()
    invocation = StreamingInvocation(request_id="r", executed_version="1", stream=stream, ran=ran)
    reading = asyncio.ensure_future(_read(invocation))
    stream.begin("text/plain", lambda: None)
    stream.write(b"one ")
    await asyncio.sleep(0.01)
    stream.write(b"two")
    stream.finish(StreamEnd())
    ran.set_result(OK)
    content_type, chunks, outcome = await reading
    assert content_type == "text/plain"
    assert b"".join(chunks) == b"one two"
    assert outcome.error_code is None


async def test_a_buffered_response_is_one_chunk() -> None:
    loop = asyncio.get_running_loop()
    stream, ran = ResponseStream(), loop.create_future()
    invocation = StreamingInvocation(request_id="r", executed_version="1", stream=stream, ran=ran)
    reading = asyncio.ensure_future(_read(invocation))
    stream.close()
    result: Ran = InvocationResult(payload=b'{"a": 1}')
    ran.set_result(result)
    assert await reading == ("application/json", [b'{"a": 1}'], StreamOutcome())


async def test_a_failed_buffered_response_sends_no_chunk() -> None:
    loop = asyncio.get_running_loop()
    stream, ran = ResponseStream(), loop.create_future()
    invocation = StreamingInvocation(request_id="r", executed_version="1", stream=stream, ran=ran)
    stream.close()
    ran.set_result(
        InvocationResult(payload=b'{"errorType": "KeyError"}', function_error="Unhandled")
    )
    _, chunks, outcome = await _read(invocation)
    assert chunks == [] and outcome.error_code == "KeyError"
