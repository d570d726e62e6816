"""The response stream between the Runtime API and its reader: its decisions (pure) and
what a reader and writer see of it."""

from __future__ import annotations

import asyncio
import base64

import pytest

from nimbus.worker.log_format import error_payload
from nimbus.worker.outcome import (
    FunctionFailed,
    Ok,
    ResponseTooLarge,
    Truncated,
    streamed_reply,
)
from nimbus.worker.response_stream import (
    EndKind,
    Flow,
    ResponseStream,
    StreamEnd,
    flow,
    trailer_body,
)


@pytest.mark.parametrize(
    ("total", "queued", "expected"),
    [
        (10, 10, Flow.MORE),
        (100, 50, Flow.MORE),  # at the limit and at the mark: still fine
        (60, 51, Flow.PAUSE),
        (101, 5, Flow.STOP),
        (200, 200, Flow.STOP),  # over the limit beats a reader that is behind
    ],
)
def test_flow(total: int, queued: int, expected: Flow) -> None:
    assert flow(total=total, queued=queued, limit=100, high_water=50) is expected


def test_a_paused_writer_is_resumed_once_the_reader_takes_its_bytes() -> None:
    resumed: list[bool] = []
    stream = ResponseStream(high_water=4)
    stream.begin("text/plain", lambda: resumed.append(True))
    assert stream.write(b"abc") is Flow.MORE
    assert stream.write(b"de") is Flow.PAUSE
    assert stream.take() == b"abcde"
    assert resumed == [True]


def test_an_abandoned_stream_drops_everything_and_never_pauses_the_writer() -> None:
    resumed: list[bool] = []
    stream = ResponseStream(high_water=1, limit_bytes=10)
    stream.begin("text/plain", lambda: resumed.append(True))
    assert stream.write(b"xx") is Flow.PAUSE
    stream.abandon()
    assert resumed == [True]
    for _ in range(100):  # far past the limit: nobody reads, nothing is kept
        assert stream.write(b"y" * 1000) is Flow.MORE
    assert stream.take() == b""


async def test_the_reader_sees_bytes_then_the_end() -> None:
    stream = ResponseStream()
    stream.begin("text/plain", lambda: None)
    reading = asyncio.ensure_future(stream.read())
    await asyncio.sleep(0)
    assert not reading.done()
    stream.write(b"hi")
    assert await reading == b"hi"
    stream.write(b"!")
    stream.finish(StreamEnd(error_type="Oops", error_body=b"{}"))
    stream.finish(StreamEnd())  # only the first end counts
    assert await stream.read() == b"!"
    assert await stream.read() is None
    assert stream.end == StreamEnd(error_type="Oops", error_body=b"{}")


async def test_a_stream_that_never_began_ends_complete_at_close() -> None:
    stream = ResponseStream()
    waiting = asyncio.ensure_future(stream.started())
    await asyncio.sleep(0)
    assert not waiting.done()
    stream.close()
    await waiting
    assert not stream.began and stream.end == StreamEnd(kind=EndKind.COMPLETE)


def test_a_stream_closed_mid_way_was_cut_short() -> None:
    stream = ResponseStream()
    stream.begin("text/plain", lambda: None)
    stream.close()
    assert stream.end == StreamEnd(kind=EndKind.TRUNCATED)


def test_trailer_bodies_are_base64_or_kept_as_sent() -> None:
    assert trailer_body(base64.b64encode(b'{"a": 1}')) == b'{"a": 1}'
    assert trailer_body(b"not base64!") == b"not base64!"


def test_what_the_invocation_is_told_of_a_streamed_response() -> None:
    complete, failed = StreamEnd(), StreamEnd(error_type="E", error_body=b'{"x": 1}')
    # Streamed on: the stream carries errors to the caller; only a cut-short body fails.
    assert streamed_reply(complete, None) == Ok()
    assert streamed_reply(failed, None) == Ok()
    assert streamed_reply(StreamEnd(kind=EndKind.TOO_LARGE), None) == Ok()
    assert streamed_reply(StreamEnd(kind=EndKind.TRUNCATED), None) == Truncated()
    assert streamed_reply(StreamEnd(kind=EndKind.TRUNCATED), b"part") == Truncated()
    # Collected for a buffered caller: as a buffered response would be.
    assert streamed_reply(complete, b"body") == Ok(body=b"body")
    assert streamed_reply(failed, b"part") == FunctionFailed(body=b'{"x": 1}', error_type="E")
    assert streamed_reply(StreamEnd(error_type="E"), b"") == FunctionFailed(
        body=error_payload("E", ""), error_type="E"
    )
    assert streamed_reply(StreamEnd(kind=EndKind.TOO_LARGE), b"") == ResponseTooLarge()
