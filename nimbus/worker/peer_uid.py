"""Who is on the other end of a loopback TCP connection: the socket owner's uid.

Every environment runs as its own uid, so a Runtime API endpoint can refuse connections from
any other environment by looking up the peer's socket once per connection. The lookup asks
the kernel for exactly that socket over NETLINK_SOCK_DIAG (microseconds); reading
/proc/net/tcp walks every hash bucket and took ~5 ms here.
"""

from __future__ import annotations

import errno
import socket
import struct

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
NLM_F_REQUEST = 1
NLMSG_ERROR = 2
TCP_ALL_STATES = 0xFFFFFFFF
_NO_COOKIE = 0xFFFFFFFF
_HEADER = struct.Struct("=IHHII")  # nlmsghdr
# inet_diag_req_v2: family, protocol, ext, pad, states, then inet_diag_sockid:
# sport, dport (big endian), src[4], dst[4] (network order), if, cookie[2].


def _request(peer: tuple[str, int], server: tuple[str, int], seq: int) -> bytes:
    body = (
        struct.pack("=BBBBI", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, TCP_ALL_STATES)
        + struct.pack(">HH", peer[1], server[1])
        + socket.inet_aton(peer[0])
        + bytes(12)
        + socket.inet_aton(server[0])
        + bytes(12)
        + struct.pack("=III", 0, _NO_COOKIE, _NO_COOKIE)
    )
    return _HEADER.pack(_HEADER.size + len(body), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST, seq, 0) + body


def parse_response(data: bytes) -> int | None:
    """The uid in an inet_diag_msg reply, or None for an error (no such socket) (pure)."""
    if len(data) < _HEADER.size:
        return None
    _, kind, _, _, _ = _HEADER.unpack_from(data)
    if kind == NLMSG_ERROR:
        return None
    # inet_diag_msg: 4 bytes of family/state/timer/retrans, 48 of sockid, then expires,
    # rqueue, wqueue, uid (all u32).
    offset = _HEADER.size + 4 + 48 + 12
    if len(data) < offset + 4:
        return None
    return int(struct.unpack_from("=I", data, offset)[0])


class PeerUidLookup:
    """One netlink socket reused for every lookup (blocking calls of a few microseconds)."""

    def __init__(self) -> None:
        self._sock: socket.socket | None = None
        self._seq = 0

    def uid_of(self, peer: tuple[str, int], server: tuple[str, int]) -> int | None:
        """uid owning the client socket ``peer`` connected to our ``server`` address."""
        if self._sock is None:
            self._sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
            self._sock.settimeout(1.0)
        self._seq += 1
        try:
            self._sock.send(_request(peer, server, self._seq))
            data = self._sock.recv(65536)
        except OSError as exc:
            if exc.errno != errno.ENOENT:
                self.close()
            return None
        return parse_response(data)

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
