"""HTTP/1.x persistence on the Runtime API (pure): whether a connection stays open once a
request is answered, and the ``Connection`` header an answer carries to say so.

An HTTP/1.1 request keeps its connection unless it sends ``Connection: close``; an HTTP/1.0
one closes it unless it sends ``Connection: keep-alive`` (RFC 9112, section 9.3), and then
the answer must say keep-alive, or the client assumes close. A runtime that reads to EOF (a
bash ``/dev/tcp`` bootstrap, a minimal C runtime) sees its answer end when the connection
closes.
"""

from __future__ import annotations

KEEP = 0  # HTTP/1.1 default: nothing to say
KEEP_1_0 = 1  # HTTP/1.0 with "Connection: keep-alive": say so, or the client assumes close
CLOSE = 2  # HTTP/1.0 default or "Connection: close": say so, then close


def persistence_of(keep_alive: bool, http_version: str) -> int:
    """What becomes of the connection once its request is answered. ``keep_alive`` is
    httptools' ``should_keep_alive()``: the version's default, or what Connection said."""
    if not keep_alive:
        return CLOSE
    if http_version == "1.0":
        return KEEP_1_0
    return KEEP


def announced(answer: bytes, persistence: int) -> bytes:
    """``answer`` with the Connection header ``persistence`` calls for (none for KEEP)."""
    if persistence == KEEP:
        return answer
    # Every answer starts with its status line: the header goes right after it.
    header = (
        b"\r\nConnection: close\r\n" if persistence == CLOSE else b"\r\nConnection: keep-alive\r\n"
    )
    return answer.replace(b"\r\n", header, 1)
