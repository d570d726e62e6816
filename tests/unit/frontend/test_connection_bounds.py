"""Which connections count against the per-source cap (pure)."""

from __future__ import annotations

from nimbus.frontend.http_protocol import capped_source


def test_a_sandbox_address_is_capped() -> None:
    # Isolated functions reach the API through the gateway's DNAT, which keeps their address.
    assert capped_source("100.64.3.7") == "100.64.3.7"
    assert capped_source("2001:db8::1") == "2001:db8::1"


def test_loopback_and_unix_sockets_are_not_capped() -> None:
    assert capped_source("127.0.0.1") is None
    assert capped_source("127.8.9.10") is None
    assert capped_source("::1") is None
    assert capped_source("::ffff:127.0.0.1") is None
    assert capped_source(None) is None
