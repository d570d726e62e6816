"""The per-invocation log budget: whole lines within it, one marker, the rest dropped — over
a real pipe, as an environment's stdout is read."""

from __future__ import annotations

import asyncio
import os

from nimbus.worker.log_pipe import EVENT_OVERHEAD, LogPipe, admit, marker


def test_admit_keeps_whole_lines_that_fit_counting_cloudwatch_overhead() -> None:
    kept, left, ran_out = admit(["abc", "de"], 100)
    assert (kept, left, ran_out) == (["abc", "de"], 100 - 5 - 2 * EVENT_OVERHEAD, False)


def test_admit_stops_at_the_first_line_that_does_not_fit() -> None:
    kept, left, ran_out = admit(["a" * 10, "b" * 100, "c"], 10 + EVENT_OVERHEAD + 50)
    assert (kept, left, ran_out) == (["a" * 10], 0, True)


def test_admit_counts_utf8_bytes_not_characters() -> None:
    assert admit(["é" * 10], 20 + EVENT_OVERHEAD) == (["é" * 10], 0, False)
    assert admit(["é" * 10], 19 + EVENT_OVERHEAD)[2] is True


def test_the_marker_names_the_limit_and_the_setting() -> None:
    text = marker(1024)
    assert "1024 bytes" in text and "NIMBUS_LOG_LIMIT_BYTES" in text


class Pipe:
    def __init__(self, limit: int) -> None:
        self.lines: list[str] = []
        read_fd, self.write_fd = os.pipe()
        self.pipe = LogPipe(read_fd, self.lines.extend, limit_bytes=limit)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:  # the pipe holds 64 KiB: drain as a busy loop would
            try:
                written = os.write(self.write_fd, view)
            except BlockingIOError:
                written = 0
            view = view[written:]
            self.pipe.drain()
        self.pipe.drain()

    def close(self) -> None:
        os.close(self.write_fd)
        self.pipe.drain()


async def test_output_over_the_budget_ends_with_one_marker_and_drops_the_rest() -> None:
    pipe = Pipe(limit=10_000)
    os.set_blocking(pipe.write_fd, False)
    line = b"x" * 99 + b"\n"
    pipe.write(line * 20_000)  # 2 MB
    assert pipe.lines[-1] == marker(10_000)
    assert pipe.lines.count(marker(10_000)) == 1
    kept = pipe.lines[:-1]
    assert kept == ["x" * 99] * len(kept)
    assert sum(len(x) + EVENT_OVERHEAD for x in kept) <= 10_000
    pipe.write(line * 100)  # still the same invocation: dropped
    assert pipe.lines.count(marker(10_000)) == 1 and pipe.lines[-1] == marker(10_000)
    pipe.close()


async def test_each_invocation_gets_a_fresh_budget() -> None:
    pipe = Pipe(limit=1000)
    os.set_blocking(pipe.write_fd, False)
    pipe.write(b"y" * 2000 + b"\n")
    assert pipe.lines == [marker(1000)]
    pipe.pipe.new_period()
    pipe.write(b"second\n")
    assert pipe.lines == [marker(1000), "second"]
    pipe.close()


async def test_the_rest_of_a_dropped_line_is_not_a_line_of_the_next_invocation() -> None:
    pipe = Pipe(limit=100)
    os.set_blocking(pipe.write_fd, False)
    pipe.write(b"z" * 300)  # a line over the budget, unfinished
    pipe.write(b"z" * 200)
    assert pipe.lines == [marker(100)]
    pipe.pipe.new_period()
    pipe.write(b"zzz-end-of-old-line\nnew line\n")
    assert pipe.lines == [marker(100), "new line"]
    pipe.close()


async def test_the_event_loop_reads_output_unasked_until_eof() -> None:
    pipe = Pipe(limit=10_000_000)
    os.write(pipe.write_fd, b"line\n" * 1000)
    os.close(pipe.write_fd)
    for _ in range(500):
        if len(pipe.lines) == 1000:
            break
        await asyncio.sleep(0.002)
    assert pipe.lines == ["line"] * 1000


async def test_output_that_exactly_fits_gets_no_marker() -> None:
    pipe = Pipe(limit=2 * (4 + EVENT_OVERHEAD) + 10)
    os.set_blocking(pipe.write_fd, False)
    pipe.write(b"abcd\nefgh\n")
    assert pipe.lines == ["abcd", "efgh"]
    pipe.close()
