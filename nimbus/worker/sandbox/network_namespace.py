"""Network namespaces for isolated environments (root only), one per environment.

Each has loopback up and one veth, ``eth0`` inside, whose host end is an *isolated* port of
the function network's bridge (``network``), IPv6 off, and its address and default route set
by the classic ioctls (no process to start inside). A namespace is held by a file descriptor
of the server (``Netns.fd``), never by a name under /run/netns: when the server and its
sandboxes die, the kernel removes the namespaces and their veths by itself.

Making one costs ~1 ms of kernel time (unshare) plus a share of one ``ip`` process: ``make``
makes a batch with one ``ip -batch`` for all of them. Only the calling thread enters a
namespace, and only for a socket() (``listening_socket``).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import logging
import os
import socket
import struct
import subprocess
from dataclasses import dataclass

from nimbus.errors import ServiceError
from nimbus.worker.sandbox import network_host
from nimbus.worker.sandbox import network_policy as policy

log = logging.getLogger(__name__)

CLONE_NEWNET = 0x40000000

# <linux/sockios.h>
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
SIOCSIFADDR = 0x8916
SIOCSIFNETMASK = 0x891C
SIOCADDRT = 0x890B
IFF_UP = 1
RTF_UP = 1
RTF_GATEWAY = 2

_libc = ctypes.CDLL(None, use_errno=True)


class NetworkError(ServiceError):
    """The function network could not be set up or extended."""


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        raise OSError(ctypes.get_errno(), "setns(CLONE_NEWNET)")


def _back_to(host_fd: int) -> None:
    """Return the calling thread to the host's namespace. Should that ever fail, every later
    socket of this thread would be made inside a sandbox's network: stop the server."""
    try:
        _setns(host_fd)
    except OSError:
        log.critical("could not return to the host network namespace; aborting")
        os.abort()


def _ifreq(name: str, payload: bytes) -> bytes:
    return struct.pack("16s", name.encode()) + payload.ljust(24, b"\0")


def _sockaddr(address: str) -> bytes:
    return struct.pack("HH4s8x", socket.AF_INET, 0, socket.inet_aton(address))


def _link_up(sock: socket.socket, name: str) -> None:
    flags = struct.unpack_from("H", fcntl.ioctl(sock, SIOCGIFFLAGS, _ifreq(name, b"")), 16)[0]
    fcntl.ioctl(sock, SIOCSIFFLAGS, _ifreq(name, struct.pack("H", flags | IFF_UP)))


def _configure_inside(sock: socket.socket, address: str, gateway: str) -> None:
    """Inside the namespace ``sock`` was made in: lo up, eth0 up with its address, and the
    default route via the gateway (the classic ioctls: no process to start)."""
    _link_up(sock, "lo")
    fcntl.ioctl(sock, SIOCSIFADDR, _ifreq("eth0", _sockaddr(address)))
    fcntl.ioctl(sock, SIOCSIFNETMASK, _ifreq("eth0", _sockaddr("255.255.0.0")))
    _link_up(sock, "eth0")
    # struct rtentry: pad, dst, gateway, genmask, flags, pad, pad, pad, metric, dev, mtu,
    # window, irtt.
    route = struct.pack(
        "L16s16s16sHhLPhPLLH",
        0,
        _sockaddr("0.0.0.0"),
        _sockaddr(gateway),
        _sockaddr("0.0.0.0"),
        RTF_UP | RTF_GATEWAY,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
    )
    fcntl.ioctl(sock, SIOCADDRT, route)


def run(argv: list[str], stdin: str = "") -> None:
    """Run ``ip`` or ``nft``; one that fails raises NetworkError with what it said."""
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NetworkError(f"{' '.join(argv)} failed: {result.stderr.strip()}")


@dataclass(frozen=True, kw_only=True)
class Netns:
    """One environment's network namespace, held open by ``fd`` in this process."""

    fd: int
    host: int  # its address's number in the block (network_policy.AddressPool)
    address: str
    veth: str  # the host end of its veth pair
    # A sandbox gets ``fd`` itself with its spawn request (SCM_RIGHTS), never a path: a
    # /proc/<pid>/fd/<n> path names whatever the number means when it is opened.


def listening_socket(netns: Netns, host_fd: int) -> socket.socket:
    """A TCP socket listening on 127.0.0.1:9001 inside ``netns``: the environment's
    Runtime API, which nothing outside that namespace can connect to. A socket keeps
    the namespace it was made in; only socket() has to run inside it (microseconds, on
    the calling thread alone)."""
    _setns(netns.fd)
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    finally:
        _back_to(host_fd)
    try:
        sock.bind((policy.RUNTIME_API_HOST, policy.RUNTIME_API_PORT))
        sock.listen(16)
    except BaseException:
        sock.close()
        raise
    return sock


def make(block: policy.Block, hosts: list[int], serials: list[int], host_fd: int) -> list[Netns]:
    """In a worker thread: ``len(hosts)`` namespaces with their veths (host ends on
    ``block``'s bridge), one ``ip`` process for all of them. The thread enters each new
    namespace and returns to ``host_fd``, the host's."""
    made: list[tuple[Netns, socket.socket]] = []
    try:
        for host, serial in zip(hosts, serials, strict=True):
            if _libc.unshare(CLONE_NEWNET) != 0:
                _back_to(host_fd)
                raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET)")
            try:
                fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
                # Devices made from now on in this namespace (eth0) get no IPv6: the
                # nft rules are IPv4 rules, and an IPv6 link-local path must not exist.
                network_host.disable_ipv6("default")
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            finally:
                _back_to(host_fd)
            netns = Netns(fd=fd, host=host, address=block.address(host), veth=block.veth(serial))
            made.append((netns, sock))
        commands = "".join(
            f"link add {netns.veth} master {block.bridge} type veth"
            # ip opens the namespace by path while this call holds the fd open.
            f" peer name eth0 netns /proc/{os.getpid()}/fd/{netns.fd}\n"
            f"link set {netns.veth} type bridge_slave isolated on\n"
            for netns, _ in made
        )
        run(["ip", "-batch", "-"], commands)
        host_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with host_sock:
            for netns, sock in made:
                network_host.disable_ipv6(netns.veth)
                _link_up(host_sock, netns.veth)
                _configure_inside(sock, netns.address, block.gateway)
    except BaseException:
        for netns, _ in made:
            with contextlib.suppress(OSError):
                os.close(netns.fd)  # the kernel removes any veth made with it
        raise
    finally:
        for _, sock in made:
            sock.close()
    return [netns for netns, _ in made]
