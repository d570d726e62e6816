"""Name resolution from isolated functions when the host's resolver is on its loopback
(systemd-resolved's 127.0.0.53, dnsmasq's 127.0.0.1): an environment's own loopback has no
resolver, so it gets a resolv.conf naming its gateway, which the server's nft table DNATs
to the host's resolver (review item C1).

The host's resolver here is a 20-line stdlib responder on a loopback address of this test's
choosing, named by a resolv.conf given to the server with NIMBUS_RESOLV_CONF: it answers one
A record, and NXDOMAIN for every other name."""

from __future__ import annotations

import os
import socket
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")

NAME = "nimbus-dns-probe.test"  # .test (RFC 2606): never a real name, never in /etc/hosts
ADDRESS = "203.0.113.53"

PROBE = """
import socket

def handler(event, context):
    try:
        found = socket.gethostbyname(event["name"])
    except OSError as exc:
        found = type(exc).__name__ + ": " + str(exc)
    return {"resolv_conf": open("/etc/resolv.conf").read(), "found": found}
"""


def answer(query: bytes) -> tuple[str, bytes]:
    """The name ``query`` asks for, and a response: ADDRESS for NAME's A record, NXDOMAIN
    for other names."""
    qid = struct.unpack_from(">H", query)[0]
    labels, pos = [], 12
    while query[pos]:
        labels.append(query[pos + 1 : pos + 1 + query[pos]].decode().lower())
        pos += 1 + query[pos]
    qtype = struct.unpack_from(">H", query, pos + 1)[0]
    question = query[12 : pos + 5]
    name = ".".join(labels)
    flags = 0x8180 if name == NAME else 0x8183  # response, recursion; rcode 3: NXDOMAIN
    records = b""
    if name == NAME and qtype == 1:
        records = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ADDRESS)
    head = struct.pack(">HHHHHH", qid, flags, 1, 1 if records else 0, 0, 0)
    return name, head + question + records


@dataclass
class Responder:
    address: str
    asked: list[tuple[str, str]] = field(default_factory=list)  # (peer, name)
    sock: socket.socket = field(default_factory=lambda: socket.socket(type=socket.SOCK_DGRAM))

    def serve(self) -> None:
        while True:
            query, peer = self.sock.recvfrom(512)
            if not query:  # stop(): an empty datagram of its own
                return
            try:
                name, reply = answer(query)
            except (IndexError, struct.error, UnicodeDecodeError):
                continue
            self.asked.append((peer[0], name))
            self.sock.sendto(reply, peer)


@pytest.fixture(scope="module")
def responder() -> Iterator[Responder]:
    # A loopback address of its own (all of 127/8 is the host's loopback): port 53 of
    # 127.0.0.53 or 127.0.0.1 may be taken by the machine's real resolver.
    instance = Responder(address=f"127.53.{os.getpid() % 250 + 1}.{os.getpid() // 250 % 250 + 1}")
    instance.sock.bind((instance.address, 53))
    thread = threading.Thread(target=instance.serve, daemon=True)
    thread.start()
    yield instance
    with socket.socket(type=socket.SOCK_DGRAM) as wake:  # recvfrom returns: no close() wakes it
        wake.sendto(b"", (instance.address, 53))
    thread.join(timeout=5)
    assert not thread.is_alive()
    instance.sock.close()


def test_the_responder_answers_one_name_and_refuses_others() -> None:
    query = struct.pack(">HHHHHH", 7, 0x0100, 1, 0, 0, 0)
    for name, rcode, answers in ((NAME, 0, 1), ("other.test", 3, 0)):
        labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
        asked, reply = answer(query + labels + b"\0" + struct.pack(">HH", 1, 1))
        assert asked == name
        qid, flags, _, count = struct.unpack_from(">HHHH", reply)
        assert (qid, flags & 0xF, count) == (7, rcode, answers)
        assert (socket.inet_aton(ADDRESS) in reply) == (answers == 1)


def test_an_isolated_function_resolves_through_the_gateway_to_a_loopback_resolver(
    tmp_path_factory: pytest.TempPathFactory, responder: Responder
) -> None:
    base = tmp_path_factory.mktemp("nimbus-dns")
    resolv = base / "resolv.conf"
    resolv.write_text(f"nameserver {responder.address}\noptions timeout:2 attempts:2\n")
    server = NimbusServer(
        data_dir=base / "data",
        env={"NIMBUS_FUNCTION_NETWORK": "isolated", "NIMBUS_RESOLV_CONF": str(resolv)},
    )
    server.start()
    try:
        lam = server.client("lambda")
        deploy(lam, "dns-probe", PROBE, Timeout=20)
        response, out = call(lam, "dns-probe", {"name": NAME})
        assert "FunctionError" not in response, out
        _, missing = call(lam, "dns-probe", {"name": "nowhere.test"})
        # Written once per server: on its code volume (sandbox.code_volume), which the
        # server unmounts when it stops, or in its data directory if it has none.
        volume = server.code_volume()
        written = [
            *(volume.glob("network/resolv-*.conf") if volume else []),
            *(base / "data" / "sandboxes").glob("resolv-*.conf"),
        ]
    finally:
        server.stop()
    lines = out["resolv_conf"].splitlines()
    nameservers = [line.split()[1] for line in lines if line.startswith("nameserver")]
    assert len(nameservers) == 1 and nameservers[0].startswith("100.")
    assert nameservers[0].endswith(".0.1")  # the gateway
    assert "options timeout:2 attempts:2" in lines  # the host's options are kept
    assert out["found"] == ADDRESS
    assert missing["found"].startswith("gaierror")  # NXDOMAIN reached the function too
    # The query reached the host's resolver from the host's loopback (SNAT), as a query of
    # a process of the host would: a resolver that serves only localhost answers it.
    assert ("127.0.0.1", NAME) in responder.asked
    assert len(written) == 1
