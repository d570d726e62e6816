"""The host's forwarding and firewall as the function network meets them (pure)."""

from __future__ import annotations

from nimbus.worker.sandbox import host_firewall


def test_forwarding_turned_on_by_nimbus_is_contained_and_remembered() -> None:
    off = host_firewall.forwarding_plan("0\n", marked=False)
    assert off.enable and off.contain
    assert "was 0" in off.warning
    # The next server finds it on, with the marker the first one left: still contained.
    later = host_firewall.forwarding_plan("1\n", marked=True)
    assert not later.enable and later.contain
    assert "earlier Nimbus server" in later.warning


def test_forwarding_the_host_had_already_is_left_alone() -> None:
    on = host_firewall.forwarding_plan("1\n", marked=False)
    assert not on.enable and not on.contain
    assert "already routes" in on.warning


DOCKER_NFT = """table ip nat {
\tchain DOCKER {
\t}
}
table ip filter {
\tchain FORWARD {
\t\ttype filter hook forward priority filter; policy drop;
\t\tcounter packets 0 bytes 0 jump DOCKER-USER
\t}
\tchain DOCKER-USER {
\t}
}
table inet nimbus-fn1 {
\tchain forward {
\t\ttype filter hook forward priority filter; policy drop;
\t}
}
"""


def test_a_forward_chain_dropping_by_default_is_found_outside_nimbus_tables() -> None:
    assert host_firewall.forward_drop_tables(DOCKER_NFT) == ["ip filter"]
    accepting = DOCKER_NFT.replace("forward priority filter; policy drop;\n\t\tcounter", "x")
    assert host_firewall.forward_drop_tables(accepting) == []
    # An input chain dropping by default does not concern forwarding.
    assert (
        host_firewall.forward_drop_tables(
            "table inet fw {\n chain input {\n  type filter hook input priority 0; policy drop;"
        )
        == []
    )


def test_the_firewall_warning_names_the_fix_for_nft_and_legacy_iptables() -> None:
    warning = host_firewall.firewall_warning(DOCKER_NFT, "-P FORWARD DROP\n-N DOCKER-USER\n")
    assert warning is not None
    assert "(ip filter; Docker" in warning  # iptables-nft: the same chain, named once
    assert "iptables -I DOCKER-USER -i nimbus-br+ -j ACCEPT" in warning
    legacy = host_firewall.firewall_warning("", "-P FORWARD DROP\n")
    assert legacy is not None and "(iptables FORWARD;" in legacy
    assert host_firewall.firewall_warning("", "-P FORWARD ACCEPT\n") is None
    assert host_firewall.firewall_warning("", "") is None
