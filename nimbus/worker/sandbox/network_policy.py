"""What an isolated function network looks like (pure): its addresses, names and nft rules.

Each server claims one of ``BLOCKS`` blocks, a /16 inside 100.64.0.0/10 (RFC 6598 shared
address space: never routed on the internet, rarely used by LANs). A block holds a bridge
with the gateway address ``.0.1`` and one address per environment. One nft table per server
drops what an environment must not reach and NATs the rest out, as a Lambda function
outside a VPC reaches the internet through AWS's NAT but no service of the host it runs on.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

ISOLATED = "isolated"
HOST = "host"
NETWORK_MODES = (ISOLATED, HOST)

FUNCTION_NETWORK = "100.64.0.0/10"  # every block of every server: where isolated functions are
BLOCKS = 64  # the /16s of FUNCTION_NETWORK
BRIDGE_PREFIX = "nimbus-br"
TABLE_PREFIX = "nimbus-fn"
# On Lambda, AWS_LAMBDA_RUNTIME_API is 127.0.0.1:9001 inside the execution environment.
RUNTIME_API_HOST = "127.0.0.1"
RUNTIME_API_PORT = 9001
DNS_PORT = 53

# Destinations an environment's packets are never forwarded to: the special-purpose ranges
# of RFC 6890 that stand for "this host", LANs, carrier NAT, link-local (the cloud metadata
# service at 169.254.169.254 included), benchmarking, multicast and reserved space.
BLOCKED_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.0.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
)

FIRST_HOST = 2  # .0.0 is the network, .0.1 the gateway
LAST_HOST = 65534  # .255.255 is the broadcast address


@dataclass(frozen=True, kw_only=True)
class Block:
    """One server's share of the address space, and the names of what it creates."""

    index: int  # 0 .. BLOCKS-1

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"100.{64 + self.index}.0.0/16")

    @property
    def gateway(self) -> str:
        return f"100.{64 + self.index}.0.1"

    @property
    def bridge(self) -> str:
        return f"{BRIDGE_PREFIX}{self.index}"

    @property
    def table(self) -> str:
        return f"{TABLE_PREFIX}{self.index}"

    def address(self, host: int) -> str:
        """The address of host number ``host`` (FIRST_HOST .. LAST_HOST) of the block."""
        if not FIRST_HOST <= host <= LAST_HOST:
            raise ValueError(f"host number {host} is outside the block")
        return f"100.{64 + self.index}.{host >> 8}.{host & 255}"

    def veth(self, serial: int) -> str:
        """The host end of an environment's veth pair: unique per serial, at most 15
        characters (IFNAMSIZ - 1)."""
        return f"nmb{self.index}v{serial & 0xFFFFFFFF:x}"


def _index_after(prefix: str, name: str) -> int | None:
    if name.startswith(prefix) and name[len(prefix) :].isdigit():
        index = int(name[len(prefix) :])
        return index if 0 <= index < BLOCKS else None
    return None


def block_of_bridge(name: str) -> int | None:
    """The block index a Nimbus bridge name stands for, or None for any other interface."""
    return _index_after(BRIDGE_PREFIX, name)


def nimbus_tables(nft_list_tables: str) -> set[int]:
    """The block indexes of the Nimbus tables in ``nft list tables`` output ("table inet
    nimbus-fn3" lines); tables of other families or names are not ours."""
    found: set[int] = set()
    for line in nft_list_tables.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[:2] == ["table", "inet"]:
            index = _index_after(TABLE_PREFIX, fields[2])
            if index is not None:
                found.add(index)
    return found


def parse_mode(text: str) -> str:
    mode = text.strip().lower()
    if mode not in NETWORK_MODES:
        raise ValueError(f"function network must be one of {', '.join(NETWORK_MODES)}: {text!r}")
    return mode


def parse_host_ports(text: str) -> tuple[int, ...]:
    """``"5432, 6379"`` -> (5432, 6379): sorted, without duplicates; empty means none."""
    ports: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= 65535:
            raise ValueError(f"host ports must be TCP port numbers (1-65535): {part!r}")
        ports.add(int(part))
    return tuple(sorted(ports))


def nameservers(resolv_conf: str) -> tuple[str, ...]:
    """The IPv4 nameservers of a resolv.conf, in order (the resolver tries them so)."""
    found: list[str] = []
    for line in resolv_conf.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            try:
                address = ipaddress.IPv4Address(fields[1])
            except ValueError:
                continue
            if str(address) not in found:
                found.append(str(address))
    return tuple(found)


def parse_routes(proc_net_route: str) -> list[tuple[str, ipaddress.IPv4Network]]:
    """(interface, destination) of each route in /proc/net/route (addresses in host byte
    order, little-endian hex, as the kernel prints them)."""
    routes: list[tuple[str, ipaddress.IPv4Network]] = []
    for line in proc_net_route.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        try:
            dest = int.from_bytes(bytes.fromhex(fields[1]), "little")
            mask = int.from_bytes(bytes.fromhex(fields[7]), "little")
            network = ipaddress.IPv4Network((dest, bin(mask).count("1")), strict=False)
        except ValueError:
            continue
        routes.append((fields[0], network))
    return routes


def usable_blocks(routes: Iterable[tuple[str, ipaddress.IPv4Network]]) -> list[int]:
    """Block indexes no route of the host overlaps (a VPN such as Tailscale may use part of
    100.64.0.0/10), besides the default route and Nimbus's own bridges, which are
    reclaimable."""
    taken = [
        network
        for device, network in routes
        if network.prefixlen > 0 and block_of_bridge(device) is None
    ]
    return [
        index
        for index in range(BLOCKS)
        if not any(Block(index=index).network.overlaps(network) for network in taken)
    ]


class AddressPool:
    """Environment addresses of a block, handed out round-robin: an address comes back into
    use only after every other one has, so no neighbour cache still maps it to the MAC of
    a deleted environment's veth."""

    def __init__(self) -> None:
        self._next = FIRST_HOST
        self._used: set[int] = set()

    def acquire(self) -> int:
        """A free host number. Raises LookupError when all are in use."""
        span = LAST_HOST - FIRST_HOST + 1
        for _ in range(span):
            host = self._next
            self._next = FIRST_HOST + (host - FIRST_HOST + 1) % span
            if host not in self._used:
                self._used.add(host)
                return host
        raise LookupError("no free address in the function network")

    def release(self, host: int) -> None:
        self._used.discard(host)


def api_target(listen_host: str) -> str:
    """Where connections to the gateway's API port go: the server's loopback when it listens
    there or on every address, else the address it listens on. Raises ValueError for an
    IPv6-only address (environments have IPv4 only)."""
    host = listen_host.strip().strip("[]")
    if host in ("", "0.0.0.0", "::", "localhost"):
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"the API listen address must be an IP address here: {host!r}") from None
    if address.version != 4:
        raise ValueError(f"isolated functions reach the API over IPv4 only, not {host}")
    return str(address)


@dataclass(frozen=True, kw_only=True)
class Rules:
    block: Block
    api_port: int
    api_target: str  # api_target(server's listen host)
    host_ports: tuple[int, ...] = ()  # reachable at gateway:port, DNAT to 127.0.0.1:port
    nameservers: tuple[str, ...] = ()  # the host's resolvers (resolv.conf)
    # Drop forwarded traffic that touches no Nimbus bridge (forwarding_plan): set when
    # Nimbus itself turned ip_forward on, so that the host does not become a router.
    contain_forwarding: bool = False

    @property
    def loopback_dns(self) -> str | None:
        """The resolver to offer at the gateway when the host's first one is on its loopback
        (e.g. systemd-resolved's 127.0.0.53), which no environment can reach directly."""
        if self.nameservers and ipaddress.IPv4Address(self.nameservers[0]).is_loopback:
            return self.nameservers[0]
        return None

    @property
    def remote_dns(self) -> tuple[str, ...]:
        """Non-loopback resolvers: reached directly on port 53 even in a private range."""
        return tuple(n for n in self.nameservers if not ipaddress.IPv4Address(n).is_loopback)


def _set(items: Iterable[object]) -> str:
    return "{ " + ", ".join(str(item) for item in items) + " }"


def ruleset(rules: Rules) -> str:
    """The server's nft table (``nft -f`` input), replacing any earlier one of that name.

    Only the connections Nimbus DNATs itself may enter the host from the bridge: the bridge
    has route_localnet=1 so that DNAT to 127.0.0.1 works, and without this guard a packet
    addressed to 127.0.0.1 would be delivered too."""
    block = rules.block
    br = f'"{block.bridge}"'
    gw = block.gateway
    dns = rules.loopback_dns
    pre = [
        f"iifname {br} ip daddr {gw} tcp dport {rules.api_port}"
        f" dnat ip to {rules.api_target}:{rules.api_port}",
    ]
    accept = [
        f"iifname {br} ct status dnat ip daddr {rules.api_target}"
        f" tcp dport {rules.api_port} accept",
    ]
    snat: list[str] = []
    if rules.host_ports:
        ports = _set(rules.host_ports)
        pre.append(f"iifname {br} ip daddr {gw} tcp dport {ports} dnat ip to 127.0.0.1")
        accept.append(f"iifname {br} ct status dnat ip daddr 127.0.0.1 tcp dport {ports} accept")
        # Services see a local client, as a process of the host (PostgreSQL's pg_hba and
        # Redis's protected mode trust 127.0.0.1 by default): the user opted these ports in.
        snat.append(
            f"iifname {br} ct status dnat ip daddr 127.0.0.1 tcp dport {ports} snat ip to 127.0.0.1"
        )
    if dns is not None:
        l4 = f"meta l4proto {{ tcp, udp }} th dport {DNS_PORT}"
        pre.append(f"iifname {br} ip daddr {gw} {l4} dnat ip to {dns}")
        accept.append(f"iifname {br} ct status dnat ip daddr {dns} {l4} accept")
        snat.append(f"iifname {br} ct status dnat ip daddr {dns} {l4} snat ip to 127.0.0.1")
    forward = [
        f"oifname {br} ct state established,related accept",
        f"oifname {br} drop",  # nothing starts a connection to an environment
        f"iifname {br} meta nfproto ipv6 drop",
    ]
    if rules.remote_dns:
        forward.append(
            f"iifname {br} ip daddr {_set(rules.remote_dns)}"
            f" meta l4proto {{ tcp, udp }} th dport {DNS_PORT} accept"
        )
    forward.append(f"iifname {br} ip daddr {_set(BLOCKED_V4)} drop")
    if rules.contain_forwarding:
        # A wildcard, not this server's bridge: every server's table has this rule, and
        # each must let the others' environments through. IPv4 only: the table is inet,
        # but the decision was about net.ipv4.ip_forward; IPv6 forwarding is not Nimbus's.
        forward.append(
            f'meta nfproto ipv4 iifname != "{BRIDGE_PREFIX}*" oifname != "{BRIDGE_PREFIX}*" drop'
        )
    lines = [
        f"table inet {block.table} {{",
        "  chain prerouting {",
        "    type nat hook prerouting priority dstnat; policy accept;",
        *(f"    {rule}" for rule in pre),
        "  }",
        "  chain input {",
        "    type filter hook input priority filter; policy accept;",
        f"    iifname {br} ct state established,related accept",
        *(f"    {rule}" for rule in accept),
        f"    iifname {br} drop",
        "  }",
        "  chain forward {",
        "    type filter hook forward priority filter; policy accept;",
        *(f"    {rule}" for rule in forward),
        "  }",
    ]
    if snat:
        lines += [
            "  chain nat_input {",
            "    type nat hook input priority 100; policy accept;",
            *(f"    {rule}" for rule in snat),
            "  }",
        ]
    lines += [
        "  chain postrouting {",
        "    type nat hook postrouting priority srcnat; policy accept;",
        f"    ip saddr {block.network} oifname != {br} masquerade",
        "  }",
        "}",
    ]
    # Declaring the table first makes "delete" succeed whether or not it exists, so a load
    # replaces a dead server's table of the same name atomically.
    return f"table inet {block.table}\ndelete table inet {block.table}\n" + "\n".join(lines) + "\n"


def resolv_conf(host_resolv_conf: str, gateway: str) -> str | None:
    """The resolv.conf environments get instead of the host's, or None to keep the host's.

    When the host's first resolver is on its loopback (systemd-resolved's 127.0.0.53,
    dnsmasq's 127.0.0.1), an environment reaching that address would reach its own
    loopback: it gets the gateway instead, which the ruleset DNATs to that resolver. The
    host's remote resolvers follow (the ruleset lets them through), and its search and
    options lines are kept, so names resolve as they do on the host."""
    servers = nameservers(host_resolv_conf)
    if not servers or not ipaddress.IPv4Address(servers[0]).is_loopback:
        return None
    remote = [n for n in servers if not ipaddress.IPv4Address(n).is_loopback]
    kept = [
        line.strip()
        for line in host_resolv_conf.splitlines()
        if line.split()[:1] in (["search"], ["domain"], ["options"])
    ]
    lines = [
        "# Nimbus: the host's resolver, reached through the gateway",
        *(f"nameserver {n}" for n in [gateway, *remote][:3]),  # glibc reads three
        *kept,
    ]
    return "\n".join(lines) + "\n"


@dataclass(frozen=True, kw_only=True)
class NetworkOptions:
    """How a worker host isolates its functions' network (namespaces isolation only)."""

    api_host: str  # where the server's API listens (api_target)
    api_port: int
    host_ports: tuple[int, ...] = ()
    pool_size: int = 8  # namespaces kept ready for cold starts
    # The host's resolv.conf (NIMBUS_RESOLV_CONF): its nameservers are the ones environments
    # may reach, and a loopback one is offered at the gateway (resolv_conf).
    resolv_conf: str = "/etc/resolv.conf"
