"""HTTP/1.x persistence (pure): HTTP/1.1 keeps the connection unless told to close; HTTP/1.0
closes it unless told keep-alive, and then the answer says keep-alive."""

from __future__ import annotations

from nimbus.worker.runtime_persistence import CLOSE, KEEP, KEEP_1_0, announced, persistence_of

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


def test_what_becomes_of_the_connection() -> None:
    assert persistence_of(True, "1.1") == KEEP
    assert persistence_of(True, "1.0") == KEEP_1_0
    assert persistence_of(False, "1.1") == CLOSE
    assert persistence_of(False, "1.0") == CLOSE


def test_the_answer_says_so_right_after_its_status_line() -> None:
    assert announced(ANSWER, KEEP) is ANSWER
    assert announced(ANSWER, KEEP_1_0) == (
        b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"
    )
    assert announced(ANSWER, CLOSE) == (
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )
