"""The isolated function network's pure decisions: addresses, names, settings, nft rules."""

from __future__ import annotations

import ipaddress

import pytest

from nimbus.worker.sandbox import network_policy as policy
from nimbus.worker.sandbox.network_policy import AddressPool, Block, Rules


def test_a_block_is_one_slash_16_of_the_shared_address_space() -> None:
    first, last = Block(index=0), Block(index=63)
    assert str(first.network) == "100.64.0.0/16" and first.gateway == "100.64.0.1"
    assert str(last.network) == "100.127.0.0/16" and last.gateway == "100.127.0.1"
    assert first.address(2) == "100.64.0.2"
    assert first.address(258) == "100.64.1.2"
    assert first.address(65534) == "100.64.255.254"
    for outside in (0, 1, 65535):  # network, gateway, broadcast
        with pytest.raises(ValueError):
            first.address(outside)


def test_interface_names_fit_ifnamsiz_and_are_recognised() -> None:
    block = Block(index=63)
    assert block.bridge == "nimbus-br63" and block.table == "nimbus-fn63"
    assert len(block.veth(0xFFFFFFFF)) <= 15
    assert block.veth(10) == "nmb63va"
    assert policy.block_of_bridge("nimbus-br7") == 7
    assert policy.block_of_bridge("nimbus-br64") is None
    assert policy.block_of_bridge("nimbus-brx") is None
    assert policy.block_of_bridge("eth0") is None


def test_addresses_go_round_robin_so_a_freed_one_is_not_reused_at_once() -> None:
    pool = AddressPool()
    first = [pool.acquire() for _ in range(3)]
    assert first == [2, 3, 4]
    pool.release(2)
    assert pool.acquire() == 5  # not 2: a neighbour cache may still map it


def test_the_address_pool_wraps_around_and_skips_addresses_in_use() -> None:
    pool = AddressPool()
    taken = [pool.acquire() for _ in range(policy.LAST_HOST - policy.FIRST_HOST + 1)]
    assert taken[-1] == policy.LAST_HOST
    with pytest.raises(LookupError):
        pool.acquire()
    pool.release(7)
    pool.release(3)
    assert pool.acquire() == 3
    assert pool.acquire() == 7


def test_modes_and_host_ports_parse_or_refuse() -> None:
    assert policy.parse_mode(" Isolated ") == "isolated"
    assert policy.parse_mode("host") == "host"
    with pytest.raises(ValueError, match="isolated, host"):
        policy.parse_mode("bridge")
    assert policy.parse_host_ports("6379, 5432,6379") == (5432, 6379)
    assert policy.parse_host_ports("") == ()
    for bad in ("0", "65536", "http", "-1"):
        with pytest.raises(ValueError, match="TCP port"):
            policy.parse_host_ports(bad)


def test_the_api_is_dnat_ed_to_loopback_unless_the_server_listens_elsewhere() -> None:
    for listening in ("127.0.0.1", "0.0.0.0", "::", "localhost", ""):
        assert policy.api_target(listening) == "127.0.0.1"
    assert policy.api_target("127.0.0.1") == "127.0.0.1"
    assert policy.api_target("0.0.0.0") == "127.0.0.1"
    assert policy.api_target("203.0.113.7") == "203.0.113.7"
    with pytest.raises(ValueError, match="IPv4"):
        policy.api_target("::1")
    with pytest.raises(ValueError, match="IP address"):
        policy.api_target("nimbus.example.com")


def test_nameservers_are_read_in_order_ipv4_only() -> None:
    text = (
        "# generated\nsearch example.com\nnameserver 127.0.0.53\n"
        "nameserver fd00::1\nnameserver 10.0.0.2 # office\nnameserver 127.0.0.53\n"
    )
    assert policy.nameservers(text) == ("127.0.0.53", "10.0.0.2")
    rules = Rules(
        block=Block(index=0),
        api_port=9001,
        api_target="127.0.0.1",
        nameservers=policy.nameservers(text),
    )
    assert rules.loopback_dns == "127.0.0.53"
    assert rules.remote_dns == ("10.0.0.2",)
    remote = Rules(
        block=Block(index=0), api_port=9001, api_target="127.0.0.1", nameservers=("10.255.255.53",)
    )
    assert remote.loopback_dns is None


def test_blocks_overlapping_a_host_route_are_skipped_but_dead_bridges_are_not() -> None:
    # /proc/net/route: destination and mask in little-endian hex.
    text = (
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\n"
        "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\n"  # default route
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\n"  # 192.0.2.0/24
        "tailscale0\t00004164\t00000000\t0001\t0\t0\t0\t0000FFFF\n"  # 100.65.0.0/16
        "nimbus-br0\t00004064\t00000000\t0001\t0\t0\t0\t0000FFFF\n"  # 100.64.0.0/16
    )
    routes = policy.parse_routes(text)
    assert ("eth0", ipaddress.IPv4Network("192.0.2.0/24")) in routes
    usable = policy.usable_blocks(routes)
    assert usable[:2] == [0, 2] and len(usable) == 63


def _rules(**overrides: object) -> str:
    values: dict[str, object] = {
        "block": Block(index=3),
        "api_port": 9100,
        "api_target": "127.0.0.1",
    }
    values.update(overrides)
    return policy.ruleset(Rules(**values))  # type: ignore[arg-type]


def test_the_ruleset_dnats_the_api_and_admits_nothing_else_from_the_bridge() -> None:
    text = _rules()
    assert text.startswith("table inet nimbus-fn3\ndelete table inet nimbus-fn3\n")
    assert (
        'iifname "nimbus-br3" ip daddr 100.67.0.1 tcp dport 9100 dnat ip to 127.0.0.1:9100' in text
    )
    assert 'iifname "nimbus-br3" ct status dnat ip daddr 127.0.0.1 tcp dport 9100 accept' in text
    # The catch-all drop comes after every accept of the input chain.
    input_chain = text.split("chain input {", 1)[1].split("}", 1)[0]
    assert input_chain.rstrip().endswith('iifname "nimbus-br3" drop')
    assert "snat" not in text  # no host ports, no loopback resolver
    assert 'ip saddr 100.67.0.0/16 oifname != "nimbus-br3" masquerade' in text


def test_the_ruleset_drops_private_ranges_ipv6_and_inbound_connections() -> None:
    forward = _rules().split("chain forward {", 1)[1].split("\n  }", 1)[0]
    for blocked in (
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
    ):
        assert blocked in forward
    assert 'iifname "nimbus-br3" meta nfproto ipv6 drop' in forward
    lines = [line.strip() for line in forward.splitlines()]
    assert lines.index('oifname "nimbus-br3" ct state established,related accept') < lines.index(
        'oifname "nimbus-br3" drop'
    )


def test_host_ports_are_dnat_ed_and_seen_from_loopback() -> None:
    text = _rules(host_ports=(5432, 6379))
    assert (
        'iifname "nimbus-br3" ip daddr 100.67.0.1 tcp dport { 5432, 6379 } dnat ip to 127.0.0.1'
        in text
    )
    assert "ct status dnat ip daddr 127.0.0.1 tcp dport { 5432, 6379 } accept" in text
    assert "tcp dport { 5432, 6379 } snat ip to 127.0.0.1" in text
    assert "type nat hook input priority 100;" in text


def test_dns_goes_to_remote_resolvers_directly_and_to_a_loopback_one_via_the_gateway() -> None:
    remote = _rules(nameservers=("10.255.255.53",))
    forward = remote.split("chain forward {", 1)[1]
    accept = "ip daddr { 10.255.255.53 } meta l4proto { tcp, udp } th dport 53 accept"
    # Before the private-range drop, or it could never match.
    assert forward.index(accept) < forward.index("10.0.0.0/8")
    local = _rules(nameservers=("127.0.0.53",))
    assert (
        "ip daddr 100.67.0.1 meta l4proto { tcp, udp } th dport 53 dnat ip to 127.0.0.53" in local
    )


def test_a_loopback_resolver_is_replaced_by_the_gateway_in_the_sandboxes_resolv_conf() -> None:
    systemd = (
        "# This is /run/systemd/resolve/stub-resolv.conf managed by man:systemd-resolved(8).\n"
        "nameserver 127.0.0.53\n"
        "options edns0 trust-ad\n"
        "search corp.example\n"
    )
    assert policy.resolv_conf(systemd, "100.67.0.1") == (
        "# Nimbus: the host's resolver, reached through the gateway\n"
        "nameserver 100.67.0.1\n"
        "options edns0 trust-ad\n"
        "search corp.example\n"
    )
    # Remote resolvers after a loopback one stay (the ruleset lets them through), three
    # at most, as glibc reads; a second loopback one is dropped (only the first is DNAT-ed).
    mixed = "nameserver 127.0.0.1\nnameserver 127.0.0.2\nnameserver 9.9.9.9\n"
    mixed += "nameserver 1.1.1.1\nnameserver 8.8.8.8\n"
    assert policy.resolv_conf(mixed, "100.64.0.1") == (
        "# Nimbus: the host's resolver, reached through the gateway\n"
        "nameserver 100.64.0.1\nnameserver 9.9.9.9\nnameserver 1.1.1.1\n"
    )


def test_a_remote_or_missing_resolver_keeps_the_hosts_resolv_conf() -> None:
    assert policy.resolv_conf("nameserver 10.255.255.53\n", "100.64.0.1") is None
    # The first resolver is the one tried: a loopback one later is never reached first.
    assert policy.resolv_conf("nameserver 8.8.8.8\nnameserver 127.0.0.53\n", "x") is None
    assert policy.resolv_conf("", "100.64.0.1") is None
    assert policy.resolv_conf("nameserver ::1\n", "100.64.0.1") is None  # IPv4 only


def test_forwarding_is_contained_to_nimbus_bridges_only_when_asked() -> None:
    plain = _rules()
    assert "nimbus-br*" not in plain
    contained = _rules(contain_forwarding=True)
    forward = contained.split("chain forward {", 1)[1].split("\n  }", 1)[0]
    last = forward.strip().splitlines()[-1].strip()
    # IPv4 only: the table is inet, and IPv6 forwarding was never Nimbus's to contain.
    assert last == 'meta nfproto ipv4 iifname != "nimbus-br*" oifname != "nimbus-br*" drop'


def test_the_sweep_finds_only_nimbus_tables_in_nft_list_tables() -> None:
    listing = (
        "table inet nimbus-fn3\n"
        "table ip filter\n"
        "table inet nimbus-fn12\n"
        "table ip nimbus-fn4\n"  # another family: not one Nimbus makes
        "table inet nimbus-fn64\n"  # outside the blocks
        "table inet nimbus-fnx\n"
        "table inet nimbus-fn5-old\n"
    )
    assert policy.nimbus_tables(listing) == {3, 12}
    assert policy.nimbus_tables("") == set()
