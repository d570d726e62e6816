"""Leak 4: functions reached the host's loopback services (Redis without auth, PostgreSQL, the
Nimbus API, every socket in /proc/net/tcp). With the isolated function network (the default
as root) each environment has its own network namespace: its loopback is its own, the host,
private ranges and other environments are unreachable, the internet is reached through NAT,
Nimbus at AWS_ENDPOINT_URL (the gateway) and chosen host ports at the gateway too.

There is no internet here: "the internet" is a network namespace this module makes, at a
documentation address (198.51.100.1, RFC 5737) routed through a veth of the host."""

from __future__ import annotations

import ctypes
import os
import socket
import struct
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer, free_port

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")

PROBE = """
import json, os, socket, time

def _connect(host, port, timeout=1.0):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((host, port))
        try:
            s.settimeout(2)
            return "connected:" + s.recv(64).decode(errors="replace")
        except OSError:
            return "connected"
    except OSError as exc:
        return type(exc).__name__
    finally:
        s.close()

def _own_address(gateway):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.connect((gateway, 9))
        return s.getsockname()[0]
    finally:
        s.close()

def connect(event, context):
    from concurrent.futures import ThreadPoolExecutor
    targets = [tuple(t) for t in event["targets"]]
    with ThreadPoolExecutor(max(1, len(targets))) as pool:
        results = list(pool.map(lambda t: _connect(*t), targets))
    return {f"{h}:{p}": r for (h, p), r in zip(targets, results)}

def _gateway():
    return os.environ["AWS_ENDPOINT_URL"].split("//", 1)[1].rsplit(":", 1)[0]

def environment(event, context):
    endpoint = os.environ["AWS_ENDPOINT_URL"]
    gateway = _gateway()
    listening = []
    for name in ("tcp", "tcp6"):
        try:
            lines = open(f"/proc/net/{name}").read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":  # LISTEN
                listening.append(int(local.rsplit(":", 1)[1], 16))
    return {
        "endpoint": endpoint,
        "runtime_api": os.environ["AWS_LAMBDA_RUNTIME_API"],
        "gateway": gateway,
        "address": _own_address(gateway),
        "listening": sorted(set(listening)),
    }

def boto(event, context):
    import boto3
    client = boto3.client("lambda", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    return sorted(f["FunctionName"] for f in client.list_functions()["Functions"])

def boto_beyond_role(event, context):
    # Reaching the API is not being let do anything: delete itself, which its role does not
    # allow. The error code, or "deleted".
    import boto3, botocore.exceptions
    client = boto3.client("lambda", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    try:
        client.delete_function(FunctionName=context.function_name)
    except botocore.exceptions.ClientError as exc:
        return exc.response["Error"]["Code"]
    return "deleted"

def dispatch(event, context):
    return globals()[event["op"]](event, context)

def dns(event, context):
    servers = [l.split()[1] for l in open("/etc/resolv.conf") if l.startswith("nameserver")]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    try:
        s.sendto(bytes.fromhex(event["query"]), (servers[0], 53))
        return {"server": servers[0], "rcode": s.recv(512)[3] & 15}
    except OSError as exc:
        return {"server": servers[0], "error": type(exc).__name__}
    finally:
        s.close()

def listen(event, context):
    # Listen on every address of this environment for a while; report who connected.
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", event["port"]))
    server.listen(8)
    server.settimeout(0.2)
    import boto3
    boto3.client("sqs", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).send_message(
        QueueUrl=event["queue"], MessageBody=_own_address(_gateway()))
    seen = []
    deadline = time.monotonic() + event["seconds"]
    while time.monotonic() < deadline:
        try:
            conn, peer = server.accept()
        except OSError:
            continue
        seen.append(peer[0])
        conn.close()
    server.close()
    return {"seen": seen}
"""


def _host_addresses() -> list[str]:
    """The host's own IPv4 addresses (other than loopback)."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True
    ).stdout
    found = []
    for line in out.splitlines():
        address = line.split()[3].split("/")[0]
        if not address.startswith("127."):
            found.append(address)
    return found


@dataclass
class Listener:
    """A TCP server on the host that greets whoever connects and remembers their address."""

    host: str
    greeting: bytes = b"hello from the host"
    port: int = field(default_factory=free_port)
    peers: list[str] = field(default_factory=list)
    sock: socket.socket | None = None

    def start(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((self.host, self.port))
        self.sock.listen(16)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        assert self.sock is not None
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return  # closed
            self.peers.append(peer[0])
            with conn:
                conn.sendall(self.greeting)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()


@pytest.fixture(scope="module")
def listener() -> Iterator[Listener]:
    """Listens on every host address: whatever a function connects to, it would answer."""
    instance = Listener(host="0.0.0.0")
    instance.start()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def opened_port() -> Iterator[Listener]:
    """A host loopback service the isolated server opens to functions (host ports)."""
    instance = Listener(host="127.0.0.1", greeting=b"opened port")
    instance.start()
    yield instance
    instance.close()


@pytest.fixture(scope="module")
def isolated(
    tmp_path_factory: pytest.TempPathFactory, opened_port: Listener
) -> Iterator[NimbusServer]:
    with NimbusServer(
        data_dir=tmp_path_factory.mktemp("nimbus-net") / "data",
        env={
            "NIMBUS_FUNCTION_NETWORK": "isolated",
            "NIMBUS_FUNCTION_HOST_PORTS": f"6379,{opened_port.port}",
        },
    ) as instance:
        yield instance


@pytest.fixture(scope="module")
def lam(isolated: NimbusServer) -> Any:
    return isolated.client("lambda")


@pytest.fixture(scope="module")
def probe(lam: Any, isolated: NimbusServer) -> str:
    name = "net-probe"
    # Its execution role lets it call what it calls back into Nimbus ("boto", "listen").
    role = isolated.create_role("net-probe-role", ["lambda:ListFunctions", "sqs:SendMessage"])
    deploy(lam, name, PROBE, handler="app.dispatch", Timeout=30, Role=role)
    return name


def _invoke(lam: Any, name: str, op: str, payload: dict[str, Any]) -> Any:
    """Invoke the probe's handler ``op``; the invocation must succeed."""
    response, out = call(lam, name, {**payload, "op": op})
    assert "FunctionError" not in response, out
    return out


@pytest.fixture(scope="module")
def seen(lam: Any, probe: str) -> dict[str, Any]:
    result: dict[str, Any] = _invoke(lam, probe, "environment", {})
    return result


def test_functions_get_their_own_network_with_the_runtime_api_inside(
    seen: dict[str, Any],
) -> None:
    assert seen["runtime_api"] == "127.0.0.1:9001"  # what AWS sets
    assert seen["gateway"].startswith("100.") and seen["gateway"].endswith(".0.1")
    assert seen["address"].startswith(seen["gateway"].rsplit(".", 2)[0] + ".")
    assert seen["address"] != seen["gateway"]


def test_the_hosts_loopback_services_are_unreachable(
    lam: Any, probe: str, listener: Listener, isolated: NimbusServer
) -> None:
    targets = [
        ["127.0.0.1", 6379],  # Redis
        ["127.0.0.1", 5432],  # PostgreSQL
        ["127.0.0.1", 3306],  # MariaDB
        ["127.0.0.1", 4222],  # NATS
        ["127.0.0.1", isolated.port],  # the Nimbus API itself, on the host's loopback
        ["127.0.0.1", listener.port],
    ]
    out = _invoke(lam, probe, "connect", {"targets": targets})
    assert not [k for k, v in out.items() if v.startswith("connected")], out
    assert listener.peers == []


def test_the_hosts_own_addresses_and_the_gateway_are_unreachable(
    lam: Any, probe: str, listener: Listener, seen: dict[str, Any]
) -> None:
    targets = [[address, listener.port] for address in _host_addresses()]
    targets.append([seen["gateway"], listener.port])  # the gateway is the host too
    targets.append([seen["gateway"], 22])
    targets.append(["169.254.169.254", 80])  # a cloud's metadata service
    out = _invoke(lam, probe, "connect", {"targets": targets})
    assert not [k for k, v in out.items() if v.startswith("connected")], out
    assert listener.peers == []


def test_proc_net_tcp_shows_none_of_the_hosts_sockets(
    seen: dict[str, Any], isolated: NimbusServer, listener: Listener
) -> None:
    # Only the environment's own Runtime API listens in its namespace.
    assert seen["listening"] == [9001]
    for host_port in (isolated.port, listener.port, 6379, 5432):
        assert host_port not in seen["listening"]


def test_boto3_inside_the_function_reaches_nimbus_at_aws_endpoint_url(
    lam: Any, probe: str, seen: dict[str, Any], isolated: NimbusServer
) -> None:
    assert seen["endpoint"] == f"http://{seen['gateway']}:{isolated.port}"
    names = _invoke(lam, probe, "boto", {})
    assert probe in names
    # With its execution role's credentials (AWS_ACCESS_KEY_ID... as on AWS), and only what
    # that role allows: anything else it tries on the API is denied.
    assert _invoke(lam, probe, "boto_beyond_role", {}) == "AccessDeniedException"
    assert lam.get_function(FunctionName=probe)["Configuration"]["FunctionName"] == probe


def test_chosen_host_ports_are_reachable_at_the_gateway(
    lam: Any, probe: str, seen: dict[str, Any], opened_port: Listener, listener: Listener
) -> None:
    gateway = seen["gateway"]
    targets = [[gateway, opened_port.port], [gateway, listener.port]]
    out = _invoke(lam, probe, "connect", {"targets": targets})
    assert out[f"{gateway}:{opened_port.port}"] == "connected:opened port"
    # The service sees a local client, as it would a process of the host.
    assert opened_port.peers[-1] == "127.0.0.1"
    # A port not opened stays closed, though the host listens on it.
    assert not out[f"{gateway}:{listener.port}"].startswith("connected")


def _redis_listening() -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.mark.skipif(not _redis_listening(), reason="no Redis on 127.0.0.1:6379 here")
def test_redis_is_reachable_at_the_gateway_when_its_port_is_opened(
    lam: Any, probe: str, seen: dict[str, Any]
) -> None:
    code = (
        "import socket\n"
        "def handler(event, context):\n"
        "    s = socket.create_connection((event['gateway'], 6379), timeout=2)\n"
        "    s.sendall(b'PING\\r\\n')\n"
        "    return s.recv(64).decode()\n"
    )
    deploy(lam, "net-redis", code, Timeout=10)
    _, out = call(lam, "net-redis", {"gateway": seen["gateway"]})
    assert out == "+PONG\r\n"


def test_environments_cannot_reach_each_other(lam: Any, probe: str, isolated: NimbusServer) -> None:
    """Environment A listens on every address it has and posts its address to a queue; B
    then tries A's address, on that port and on A's Runtime API port. The host itself can
    connect to A (so the listener was there): B cannot."""
    sqs = isolated.client("sqs")
    queue = sqs.create_queue(QueueName="net-listening")["QueueUrl"]
    port = 8089
    with ThreadPoolExecutor(1) as pool:
        # A busy environment takes no other invocation: B is another environment.
        pending = pool.submit(
            _invoke, lam, probe, "listen", {"port": port, "seconds": 6, "queue": queue}
        )
        messages = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=20).get("Messages", [])
        assert messages, "environment A never reported its address"
        a_address = messages[0]["Body"]
        with socket.create_connection((a_address, port), timeout=2):
            pass  # the host reaches A
        targets = [[a_address, port], [a_address, 9001]]
        out = _invoke(lam, probe, "connect", {"targets": targets})
        listened = pending.result(timeout=30)
    assert not [k for k, v in out.items() if v.startswith("connected")], out
    assert len(listened["seen"]) == 1  # the host's connection, and no other


def _dns_query(name: str) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode() for p in name.split("."))
    return struct.pack(">HHHHHH", 0x4E42, 0x0100, 1, 0, 0, 0) + labels + b"\0\0\1\0\1"


def _host_rcode(query: bytes) -> int | None:
    """The rcode the host's first resolver answers ``query`` with, or None (no answer)."""
    text = Path("/etc/resolv.conf").read_text() if Path("/etc/resolv.conf").exists() else ""
    servers = [line.split()[1] for line in text.splitlines() if line.startswith("nameserver")]
    if not servers:
        return None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        try:
            sock.sendto(query, (servers[0], 53))
            return sock.recv(512)[3] & 15
        except OSError:
            return None


def test_a_lookup_through_the_hosts_resolver_works_from_an_isolated_function(
    lam: Any, probe: str
) -> None:
    """The host's own resolver (here 10.255.255.53, a private address the ruleset lets
    through on port 53 only; on a systemd-resolved host the gateway, DNAT-ed to it)."""
    query = _dns_query("example.com")
    expected = _host_rcode(query)
    if expected is None:
        pytest.skip("the host's resolver does not answer here")
    out = _invoke(lam, probe, "dns", {"query": query.hex()})
    assert out.get("rcode") == expected, out


# -- the fake internet ------------------------------------------------------------------------

CLONE_NEWNET = 0x40000000
OUTSIDE = "198.51.100.1"
HOST_SIDE = "198.51.100.254"


@dataclass
class Outside:
    """A network namespace standing for a host on the internet, with a TCP server."""

    fd: int
    veth: str
    port: int
    peers: list[str]
    sock: socket.socket


@pytest.fixture(scope="module")
def outside() -> Iterator[Outside]:
    libc = ctypes.CDLL(None, use_errno=True)
    host_ns = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    made: dict[str, Any] = {}

    def make() -> None:  # on a thread of its own: setns changes only the calling thread
        assert libc.unshare(CLONE_NEWNET) == 0, ctypes.get_errno()
        try:
            made["fd"] = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
            made["sock"] = socket.socket()
        finally:
            assert libc.setns(host_ns, CLONE_NEWNET) == 0

    thread = threading.Thread(target=make)
    thread.start()
    thread.join()
    fd, sock = made["fd"], made["sock"]
    veth = f"nmtout{os.getpid() % 100000}"
    path = f"/proc/{os.getpid()}/fd/{fd}"
    inside = ["nsenter", f"--net={path}", "ip"]

    def run(argv: list[str]) -> None:
        subprocess.run(argv, check=True, capture_output=True)

    try:
        run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", path])
        run(["ip", "addr", "add", f"{HOST_SIDE}/24", "dev", veth])
        run(["ip", "link", "set", veth, "up"])
        run([*inside, "link", "set", "lo", "up"])
        run([*inside, "addr", "add", f"{OUTSIDE}/24", "dev", "eth0"])
        run([*inside, "link", "set", "eth0", "up"])
        run([*inside, "route", "add", "default", "via", HOST_SIDE])
        sock.bind((OUTSIDE, 0))
        sock.listen(8)
        peers: list[str] = []

        def serve() -> None:
            while True:
                try:
                    conn, peer = sock.accept()
                except OSError:
                    return
                peers.append(peer[0])
                with conn:
                    conn.sendall(b"hello from the internet")

        threading.Thread(target=serve, daemon=True).start()
        yield Outside(fd=fd, veth=veth, port=sock.getsockname()[1], peers=peers, sock=sock)
    finally:
        sock.close()
        subprocess.run(["ip", "link", "del", veth], capture_output=True)
        os.close(fd)  # the namespace goes with its last reference
        os.close(host_ns)
    assert not Path(f"/sys/class/net/{veth}").exists()


def test_the_internet_is_reached_through_nat(lam: Any, probe: str, outside: Outside) -> None:
    out = _invoke(lam, probe, "connect", {"targets": [[OUTSIDE, outside.port]]})
    assert out[f"{OUTSIDE}:{outside.port}"] == "connected:hello from the internet"
    # Masqueraded: the internet sees the host's address, never the environment's.
    assert outside.peers == [HOST_SIDE]


# -- host network: today's behaviour ---------------------------------------------------------


def test_host_network_keeps_reaching_the_hosts_loopback(
    tmp_path_factory: pytest.TempPathFactory, opened_port: Listener
) -> None:
    server = NimbusServer(
        data_dir=tmp_path_factory.mktemp("nimbus-hostnet") / "data",
        env={"NIMBUS_FUNCTION_NETWORK": "host"},
    )
    server.start()
    try:
        client = server.client("lambda")
        deploy(client, "net-host", PROBE, handler="app.dispatch", Timeout=30)
        targets = [["127.0.0.1", opened_port.port]]
        out = _invoke(client, "net-host", "connect", {"targets": targets})
    finally:
        server.stop()
    assert out[f"127.0.0.1:{opened_port.port}"] == "connected:opened port"
