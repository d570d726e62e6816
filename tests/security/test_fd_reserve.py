"""Leak 6, server side: a client holding hundreds of connections cannot take the descriptors
cold starts need. With the server's RLIMIT_NOFILE lowered to 400, connections beyond the
reserve are answered 429 TooManyRequestsException (never a 500), invokes on connections the
server already holds keep working — cold starts included — and the server recovers once the
connections close."""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from nimbus.frontend.http_protocol import HEAD_TIMEOUT_S, REFUSAL_WAIT_S
from nimbus.testing.server import ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, REGION
from nimbus.testing.signing import SigV4Auth, sign_headers
from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer, error_of

SOFT_LIMIT = 400
ECHO = "def handler(event, context):\n    return event\n"
ADMIN = SigV4Auth(ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, region=REGION, service="lambda")


def signed_get(server: NimbusServer, path: str) -> bytes:
    """A whole HTTP/1.1 GET of ``path``, signed as the administrator (then closed)."""
    headers = [("Host", f"127.0.0.1:{server.port}"), ("Connection", "close")]
    headers += sign_headers(
        "GET",
        f"{server.url}{path}",
        headers,
        b"",
        access_key_id=ADMIN_ACCESS_KEY_ID,
        secret_access_key=ADMIN_SECRET_ACCESS_KEY,
        region=REGION,
        service="lambda",
    ).items()
    lines = [f"GET {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    instance = NimbusServer(data_dir=tmp_path_factory.mktemp("nimbus-fd") / "data")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The server inherits the limit it starts with (as under `prlimit --nofile=400`).
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT_LIMIT, hard))
    try:
        instance.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    yield instance
    instance.stop()


def open_connections(server: NimbusServer, count: int) -> list[socket.socket]:
    held = []
    for _ in range(count):
        held.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
    return held


def test_connections_beyond_the_reserve_get_429_and_held_ones_still_cold_start(
    small_server: NimbusServer,
) -> None:
    lam = small_server.client("lambda")  # its connection is made now, before the flood
    deploy(lam, "fd-warm", ECHO)
    deploy(lam, "fd-cold", ECHO)
    assert call(lam, "fd-warm", {"n": 0})[1] == {"n": 0}
    flood = open_connections(small_server, SOFT_LIMIT + 100)
    try:
        # Let the server accept what it will; the flood's own connections beyond the reserve
        # wait at most REFUSAL_WAIT_S to be answered (they send nothing) and are closed.
        time.sleep(REFUSAL_WAIT_S + 0.5)
        # A new client's connection is beyond the reserve: a throttle, in Lambda's shape.
        fresh: Any = small_server.client("lambda")
        with pytest.raises(ClientError) as caught:
            fresh.invoke(FunctionName="fd-warm", Payload=b"{}")
        code, status, _ = error_of(caught)
        assert (code, status) == ("TooManyRequestsException", 429)
        # The connection accepted before the flood still serves: warm and cold invokes.
        assert call(lam, "fd-warm", {"n": 1})[1] == {"n": 1}
        response, payload = call(lam, "fd-cold", {"cold": True})
        assert payload == {"cold": True} and "FunctionError" not in response
    finally:
        for sock in flood:
            sock.close()
    # Recovered: new connections are served again.
    deadline = time.monotonic() + 10
    while True:
        try:
            assert call(small_server.client("lambda"), "fd-warm", {"n": 2})[1] == {"n": 2}
            break
        except ClientError:
            assert time.monotonic() < deadline, "the server did not recover"
            time.sleep(0.1)
    assert small_server.process is not None and small_server.process.poll() is None
    logs = small_server.logs()
    assert "Traceback" not in logs and " 500 " not in logs, logs[-3000:]


def test_a_flood_of_connections_never_crashes_the_server_or_answers_500(
    small_server: NimbusServer,
) -> None:
    """Raw (signed) requests on many fresh connections: each is answered 2xx or 429, or
    closed."""
    statuses: set[int] = set()
    request = signed_get(small_server, "/2016-08-19/account-settings")
    flood = open_connections(small_server, SOFT_LIMIT + 100)
    try:
        for sock in flood[-50:]:
            try:
                sock.sendall(request)
                line = sock.recv(64)
            except OSError:
                continue  # closed unanswered: beyond the refusals the server holds open
            if line:
                statuses.add(int(line.split(b" ")[1]))
    finally:
        for sock in flood:
            sock.close()
    assert statuses <= {200, 429}, statuses
    assert small_server.process is not None and small_server.process.poll() is None


def test_a_slowloris_head_is_cut_off_at_the_deadline_while_others_are_served(
    small_server: NimbusServer,
) -> None:
    """A client trickling header bytes holds its connection only HEAD_TIMEOUT_S (then 408);
    one that never sends a byte only uvicorn's keep-alive timeout (5 s); fresh clients are
    served meanwhile."""
    idle = socket.create_connection(("127.0.0.1", small_server.port), timeout=5)
    slow = socket.create_connection(("127.0.0.1", small_server.port), timeout=5)
    slow.sendall(b"GET /2016-08-19/account-settings HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    slow.settimeout(0.25)
    answer = b""
    served = 0
    try:
        while time.monotonic() - started < HEAD_TIMEOUT_S + 5:
            try:
                slow.sendall(b"X-Slow: 1\r\n")  # a header every quarter second, never the end
                chunk = slow.recv(4096)
            except TimeoutError:
                chunk = None
            except OSError:
                break  # reset after the answer: what was read is the answer
            if chunk == b"":
                break
            if chunk:
                answer += chunk
            response = httpx.get(
                f"{small_server.url}/2016-08-19/account-settings", timeout=5, auth=ADMIN
            )
            assert response.status_code == 200
            served += 1
        elapsed = time.monotonic() - started
        idle.settimeout(0)
        try:
            idle_open = idle.recv(1) != b""
        except BlockingIOError:
            idle_open = True
    finally:
        slow.close()
        idle.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert HEAD_TIMEOUT_S - 0.5 <= elapsed <= HEAD_TIMEOUT_S + 3, elapsed
    assert served >= 10, served  # served all along, not only once the slow client went
    assert not idle_open, "a connection that sent nothing was held past the keep-alive"
