"""Which connections count against the per-source cap (pure)."""

from __future__ import annotations

import ipaddress

from nimbus.frontend.http_protocol import capped_source

FUNCTIONS = ipaddress.IPv4Network("100.64.0.0/10")  # the function network app.py names


def test_a_sandbox_address_is_capped() -> None:
    # Isolated functions reach the API through the gateway's DNAT, which keeps their address.
    assert capped_source("100.64.3.7", FUNCTIONS) == "100.64.3.7"
    assert capped_source("100.127.255.254", FUNCTIONS) == "100.127.255.254"  # the last block
    # A dual-stack listener sees them IPv4-mapped: the same environment, the same count.
    assert capped_source("::ffff:100.65.0.2", FUNCTIONS) == "100.65.0.2"


def test_addresses_that_may_stand_for_many_clients_are_not_capped() -> None:
    # A reverse proxy, docker-proxy (the bridge gateway) or a LAN client: one address for
    # any number of clients behind it.
    assert capped_source("172.17.0.1", FUNCTIONS) is None
    assert capped_source("192.168.1.20", FUNCTIONS) is None
    assert capped_source("203.0.113.9", FUNCTIONS) is None
    assert capped_source("100.128.0.1", FUNCTIONS) is None  # just past 100.64.0.0/10
    assert capped_source("100.63.255.255", FUNCTIONS) is None
    assert capped_source("2001:db8::1", FUNCTIONS) is None
    assert capped_source("::ffff:203.0.113.9", FUNCTIONS) is None


def test_loopback_and_unix_sockets_are_not_capped() -> None:
    assert capped_source("127.0.0.1", FUNCTIONS) is None
    assert capped_source("127.8.9.10", FUNCTIONS) is None
    assert capped_source("::1", FUNCTIONS) is None
    assert capped_source("::ffff:127.0.0.1", FUNCTIONS) is None
    assert capped_source(None, FUNCTIONS) is None
    assert capped_source("100.64.3.7", None) is None  # no function network: nothing capped
    assert capped_source("", FUNCTIONS) is None
    assert capped_source("localhost", FUNCTIONS) is None
