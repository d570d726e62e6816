"""Red team: hostile functions abusing the Runtime API, their one channel to the server.

A function can talk to its Runtime API directly (it is an HTTP endpoint in its environment
variables), close the runtime client's connection, send it garbage, and try to reach another
environment's Runtime API to steal that function's events. The server must answer each abuse
with an error or a closed connection, keep the invocation's outcome AWS-shaped, and keep
every other environment's events going to that environment only.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root")

CLOSER = """
import os, socket
def handler(event, context):
    if not event.get("close"):
        return "alive"
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    closed = 0
    for fd in map(int, os.listdir("/proc/self/fd")):
        try:
            sock = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if sock.type == socket.SOCK_STREAM and sock.getpeername()[1] == int(port):
                sock.shutdown(socket.SHUT_RDWR)
                closed += 1
        except OSError:
            pass
        finally:
            sock.close()
    return {"closed": closed}
"""


def test_closing_the_runtime_api_connection_mid_invoke(module_lam: Any, fname: str) -> None:
    """Attack: the handler shuts down the runtime client's own connection to the Runtime API
    mid-invoke, so the answer can never be delivered on it — hoping for a hung caller, a 500,
    or a wedged environment."""
    deploy(module_lam, fname, CLOSER, Timeout=5)
    assert call(module_lam, fname, {})[1] == "alive"
    started = time.monotonic()
    response, out = call(module_lam, fname, {"close": True})
    assert time.monotonic() - started < 7.0
    assert response["StatusCode"] == 200
    if "FunctionError" in response:
        assert out["errorType"].startswith(("Runtime.", "Sandbox.")), out
    else:
        assert out["closed"] >= 1, out  # the client reconnected to deliver it
    assert call(module_lam, fname, {})[1] == "alive"


GARBAGE = """
import os, socket
def send(raw, read=True):
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=3) as sock:
        try:
            sock.sendall(raw)
            sock.shutdown(socket.SHUT_WR)
            return sock.recv(200).decode("latin-1").split("\\r\\n", 1)[0]
        except OSError as exc:
            return type(exc).__name__
def handler(event, context):
    base = "/2018-06-01/runtime/invocation/"
    other = "00000000-0000-0000-0000-000000000000"
    attacks = {
        "binary": os.urandom(4096),
        "not-http": b"HELLO RUNTIME\\r\\n\\r\\n",
        "bad-method": b"BREW /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\n\\r\\n",
        "bogus-id": (f"POST {base}{other}/response HTTP/1.1\\r\\nContent-Length: 2"
                     "\\r\\n\\r\\n{}").encode(),
        "bad-kind": f"POST {base}{context.aws_request_id}/steal HTTP/1.1\\r\\n\\r\\n".encode(),
        "negative-length": (f"POST {base}{other}/error HTTP/1.1\\r\\nContent-Length: -5"
                            "\\r\\n\\r\\n").encode(),
        "bad-chunks": (f"POST {base}{other}/response HTTP/1.1\\r\\n"
                       "Transfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\nxx\\r\\n").encode(),
        "init-error-now": b"POST /2018-06-01/runtime/init/error HTTP/1.1\\r\\n\\r\\n",
        "http-0.9": b"GET /\\r\\n\\r\\n",
        "nul-bytes": b"GET /2018-06-01/runtime/invocation/next\\0 HTTP/1.1\\r\\n\\r\\n",
    }
    return {"replies": {name: send(raw) for name, raw in attacks.items()},
            "answer": "still mine"}
"""


def test_garbage_sent_to_the_runtime_api_is_refused(module_lam: Any, fname: str) -> None:
    """Attack: binary noise, non-HTTP, unknown methods, answers for request ids that are not
    the current one, a negative Content-Length, broken chunked encoding, an init error in the
    middle of an invocation — on fresh connections beside the runtime client's own."""
    deploy(module_lam, fname, GARBAGE, Timeout=20)
    response, out = call(module_lam, fname, {})
    assert "FunctionError" not in response, out
    assert out["answer"] == "still mine"
    for attack, reply in out["replies"].items():
        status = reply.split(" ")[1] if reply.startswith("HTTP/1.") else None
        assert status is None or status.startswith("4"), (attack, reply)
    assert call(module_lam, fname, {})[1]["answer"] == "still mine"


THIEF = """
import os, socket, time
def handler(event, context):
    host, port = event["victim_api"].rsplit(":", 1)
    got = []
    deadline = time.monotonic() + event["seconds"]
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, int(port)), timeout=1) as sock:
                sock.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\\r\\n"
                             b"Host: x\\r\\n\\r\\n")
                data = sock.recv(65536)
                got.append(data.decode("latin-1")[:300])
                if not data:
                    time.sleep(0.05)
        except OSError as exc:
            got.append(type(exc).__name__)
            time.sleep(0.05)
    return got
"""

VICTIM = """
import os
def handler(event, context):
    return {"api": os.environ["AWS_LAMBDA_RUNTIME_API"], "echo": event}
"""


@pytest.fixture(scope="module")
def host_network_lam(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server whose functions share the host's network (NIMBUS_FUNCTION_NETWORK=host, for
    local development): every Runtime API is then a loopback port any function can reach,
    and only the peer-uid check keeps one environment off another's."""
    server = NimbusServer(
        data_dir=tmp_path_factory.mktemp("nimbus-host-network") / "data",
        env={"NIMBUS_FUNCTION_NETWORK": "host"},
    )
    server.start()
    yield server.client("lambda")
    server.stop()


@pytest.mark.parametrize("network", ["isolated", "host"])
def test_another_functions_runtime_api_cannot_be_used_to_steal_its_events(
    module_lam: Any, request: pytest.FixtureRequest, network: str, fname: str
) -> None:
    """Attack (invocation theft): connect to the victim environment's Runtime API address
    and long-poll its /invocation/next while the victim is invoked, to receive the victim's
    events (and answer them in its name)."""
    lam = module_lam if network == "isolated" else request.getfixturevalue("host_network_lam")
    victim = f"{fname}-victim"
    deploy(lam, victim, VICTIM)
    api = call(lam, victim, {})[1]["api"]
    deploy(lam, fname, THIEF, Timeout=20)
    stolen: dict[str, Any] = {}

    def steal() -> None:
        stolen["got"] = call(lam, fname, {"victim_api": api, "seconds": 2})[1]

    thief = threading.Thread(target=steal)
    thief.start()
    markers = []
    deadline = time.monotonic() + 20
    while thief.is_alive() and time.monotonic() < deadline:
        marker = uuid.uuid4().hex
        response, out = call(lam, victim, {"marker": marker})
        assert "FunctionError" not in response, out
        assert out["echo"] == {"marker": marker}  # the victim got its own event
        markers.append(marker)
    thief.join(timeout=20)
    assert markers, "the victim was invoked while the thief was polling"
    got = "\n".join(stolen["got"])
    assert not any(marker in got for marker in markers), got
