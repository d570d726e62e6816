"""Splitting a streaming function's HTTP prelude (JSON + 8 NUL bytes) from its body."""

from __future__ import annotations

import pytest

from nimbus.model.http_prelude import (
    DELIMITER,
    HttpPrelude,
    InvalidPrelude,
    PreludeSplit,
    split_prelude,
)

NODE_PRELUDE = (
    b'{"statusCode":201,"headers":{"Content-Type":"text/plain","X-N":3},"cookies":["a=1","b=2"]}'
)


def test_node_http_response_stream_prelude_splits_from_the_body() -> None:
    # What awslambda.HttpResponseStream.from writes before the first body write.
    split = split_prelude(NODE_PRELUDE + DELIMITER + b"hello \x00 world")
    assert split == PreludeSplit(
        prelude=HttpPrelude(
            status_code=201,
            headers=(("Content-Type", "text/plain"), ("X-N", "3")),
            cookies=("a=1", "b=2"),
        ),
        body=b"hello \x00 world",
    )


def test_more_bytes_are_needed_until_the_delimiter_arrives() -> None:
    whole = NODE_PRELUDE + DELIMITER
    for cut in range(len(whole)):
        assert split_prelude(whole[:cut]) is None
    split = split_prelude(whole)
    assert split is not None and split.body == b""


def test_an_empty_prelude_is_a_200_with_no_headers() -> None:
    assert split_prelude(b"{}" + DELIMITER) == PreludeSplit(prelude=HttpPrelude(), body=b"")


def test_multi_value_headers_repeat_the_name() -> None:
    split = split_prelude(b'{"multiValueHeaders": {"X-A": ["1", "2"]}}' + DELIMITER)
    assert split is not None
    assert split.prelude.headers == (("X-A", "1"), ("X-A", "2"))


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        b'{"statusCode": "200"}',
        b'{"statusCode": 42}',
        b'{"statusCode": true}',
        b'{"headers": ["x"]}',
        b'{"headers": {"x": {"y": 1}}}',
        b'{"cookies": "a=1"}',
        b'{"multiValueHeaders": {"x": "1"}}',
        b"[" * 100_000,
    ],
)
def test_a_malformed_prelude_is_refused(raw: bytes) -> None:
    with pytest.raises(InvalidPrelude):
        split_prelude(raw + DELIMITER, limit=len(raw) + 1)


def test_no_delimiter_within_the_limit_is_refused_not_buffered_for_ever() -> None:
    with pytest.raises(InvalidPrelude):
        split_prelude(b"x" * 40, limit=32)
    assert split_prelude(b"x" * 39, limit=32) is None
