"""End to end over a raw socket: request heads beyond AWS's front-door limits (10,240 bytes of
request line and headers, 200 headers) are answered 431 and the connection closed — before the
head is parsed to its end, so a client cannot make the server buffer an endless header."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from nimbus.frontend.http_protocol import MAX_HEAD_BYTES, MAX_HEADERS
from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, REGION
from nimbus.testing.signing import sign_headers
from tests.support import NimbusServer

# Unsigned: heads past the limits are refused by the HTTP layer, before authentication (as
# AWS's front door refuses them); a request that is to be served is signed (signed_list).
LIST = b"GET /2015-03-31/functions HTTP/1.1\r\nHost: nimbus\r\n"


def signed_list() -> bytes:
    """LIST signed now as the administrator (Host and the signature's own headers signed;
    headers appended after it go unsigned, as SigV4 allows)."""
    headers = sign_headers(
        "GET",
        "http://nimbus/2015-03-31/functions",
        [("Host", "nimbus")],
        b"",
        access_key_id=ADMIN_ACCESS_KEY_ID,
        secret_access_key=ADMIN_SECRET_ACCESS_KEY,
        region=REGION,
        service="lambda",
    )
    return LIST + b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items())


def exchange(server: NimbusServer, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Send ``data`` (ignoring a reset once the server has answered), read until EOF."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        # The server may answer and close while we are still sending.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65_536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_a_head_within_the_limits_is_served(server: NimbusServer) -> None:
    head = signed_list()
    filler = MAX_HEAD_BYTES - len(head) - 200
    request = head + b"X-Filler: " + b"a" * filler + b"\r\nConnection: close\r\n\r\n"
    response = exchange(server, request)
    assert status_of(response) == 200
    assert b"x-amzn-requestid: " in response.lower()


def test_headers_larger_than_the_limit_are_refused_with_431(server: NimbusServer) -> None:
    request = LIST + b"X-Big: " + b"a" * MAX_HEAD_BYTES + b"\r\n\r\n"
    response = exchange(server, request)
    assert status_of(response) == 431
    assert b"connection: close" in response.lower()
    assert b"x-amzn-requestid: " in response.lower()
    # An error an SDK reads as modelled (the API fuzz found a bare {"message"} here).
    assert b"x-amzn-errortype: invalidrequestcontentexception" in response.lower()
    assert b'"__type":"InvalidRequestContentException"' in response


def test_an_unparseable_request_is_a_typed_400(server: NimbusServer) -> None:
    response = exchange(server, LIST.replace(b"Host: nimbus", b"Host: nim\x7fbus") + b"\r\n")
    assert status_of(response) == 400
    assert b"x-amzn-errortype: invalidrequestcontentexception" in response.lower()


def test_more_headers_than_the_limit_are_refused_with_431(server: NimbusServer) -> None:
    headers = b"".join(b"X-H%d: 1\r\n" % n for n in range(MAX_HEADERS + 1))
    response = exchange(server, LIST + headers + b"\r\n")
    assert status_of(response) == 431
    assert str(MAX_HEADERS).encode() in response


def test_an_endless_header_is_refused_before_it_ends(server: NimbusServer) -> None:
    """A header that never ends: the answer comes (and the connection closes) while the
    client is still sending — no 431 after buffering megabytes, no timeout."""
    started = time.monotonic()
    response = exchange(server, LIST + b"X-Endless: " + b"a" * 4_000_000)
    assert status_of(response) == 431
    assert time.monotonic() - started < 5


def test_the_server_still_serves_after_refusing(server: NimbusServer) -> None:
    exchange(server, LIST + b"X-Big: " + b"a" * (2 * MAX_HEAD_BYTES) + b"\r\n\r\n")
    assert status_of(exchange(server, signed_list() + b"Connection: close\r\n\r\n")) == 200


def test_a_head_within_the_limits_sent_in_small_pieces_is_served(server: NimbusServer) -> None:
    """A head under the limit that arrives over several reads is counted once, not once per
    read plus once per header (many small headers, then one long one, in 1,000-byte pieces)."""
    small = b"".join(b"X-H%d: %s\r\n" % (n, b"v" * 40) for n in range(60))
    head = signed_list()
    filler = MAX_HEAD_BYTES - len(head) - len(small) - 300
    request = head + small + b"X-Filler: " + b"a" * filler + b"\r\nConnection: close\r\n\r\n"
    assert len(request) < MAX_HEAD_BYTES
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for start in range(0, len(request), 1000):
            sock.sendall(request[start : start + 1000])
            time.sleep(0.02)  # each piece is its own read on the server
        received = b""
        while chunk := sock.recv(65_536):
            received += chunk
    assert status_of(received) == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/2017-10-31/functions/f/concurrency"),
        ("PUT", "/2019-09-30/functions/f/provisioned-concurrency?Qualifier=1"),
        ("POST", "/2017-03-31/tags/arn:aws:lambda:us-east-1:000000000000:function:f"),
    ],
)
def test_a_body_past_6_mb_is_refused_not_buffered(
    server: NimbusServer, method: str, path: str
) -> None:
    """These bodies were read whole, of any size, before being parsed; now they stop at
    Lambda's 6 MB like every other (found by the API fuzz's oversized bodies)."""

    def chunks() -> Iterator[bytes]:
        for _ in range(7 * 16):  # 7 MiB, streamed: no Content-Length to refuse it early
            yield b" " * 65_536

    try:
        # Signed (the signer reads the stream to hash it; it still goes chunked).
        with server.http(timeout=30) as http:
            response = http.request(method, path, content=chunks())
    except httpx.WriteError:
        return  # answered and closed before the rest was sent: it was not buffered
    assert response.status_code == 413, response.text
    assert response.headers["x-amzn-errortype"] == "RequestEntityTooLargeException"
