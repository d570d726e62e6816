"""The host's forwarding and firewall as the function network meets them (pure)."""

from __future__ import annotations

from nimbus.worker.sandbox import host_firewall


def test_forwarding_turned_on_by_nimbus_is_contained_and_remembered() -> None:
    off = host_firewall.forwarding_plan("0\n", marked=False, others=[])
    assert off.enable and off.contain
    assert "was 0" in off.warning and "IPv4 traffic" in off.warning
    # The next server finds it on, with the marker the first one left: still contained.
    later = host_firewall.forwarding_plan("1\n", marked=True, others=[])
    assert not later.enable and later.contain
    assert "earlier Nimbus server" in later.warning


def test_forwarding_the_host_had_already_is_left_alone() -> None:
    on = host_firewall.forwarding_plan("1\n", marked=False, others=[])
    assert not on.enable and not on.contain
    assert "already routes" in on.warning
    assert host_firewall.forwarding_plan("1\n", marked=False, others=["ip filter"]) == on


def test_forwarding_another_firewall_filters_is_not_contained() -> None:
    # Docker started after an earlier Nimbus server turned forwarding on: the marker is
    # still there, but dropping Docker's forwarded traffic would break its containers.
    later = host_firewall.forwarding_plan("1\n", marked=True, others=["ip filter"])
    assert not later.enable and not later.contain
    assert "(ip filter)" in later.warning and "does not drop" in later.warning
    # Turned on now, beside a firewall that filters forwarding: that firewall decides.
    off = host_firewall.forwarding_plan("0\n", marked=False, others=["inet fw", "ip filter"])
    assert off.enable and not off.contain
    assert "was 0" in off.warning and "(inet fw, ip filter)" in off.warning


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


def test_any_forward_chain_outside_nimbus_tables_is_a_forwarding_user() -> None:
    assert host_firewall.forwarding_users(DOCKER_NFT, "") == ["ip filter"]
    accepting = (
        "table inet fw {\n\tchain fwd {\n"
        "\t\ttype filter hook forward priority filter; policy accept;\n\t}\n}\n"
        "table inet nimbus-fn2 {\n\tchain forward {\n"
        "\t\ttype filter hook forward priority filter; policy accept;\n\t}\n}\n"
    )
    assert host_firewall.forwarding_users(accepting, "") == ["inet fw"]
    # Input and NAT chains do not filter forwarding; Nimbus's own tables never count.
    others = (
        "table ip nat {\n\tchain POSTROUTING {\n"
        "\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t}\n}\n"
        "table inet fw {\n\tchain in {\n"
        "\t\ttype filter hook input priority filter; policy drop;\n\t}\n}\n"
        "table inet nimbus-fn1 {\n\tchain forward {\n"
        "\t\ttype filter hook forward priority filter; policy accept;\n\t}\n}\n"
    )
    assert host_firewall.forwarding_users(others, "") == []
    assert host_firewall.forwarding_users("", "") == []


def test_iptables_legacy_forward_counts_when_it_has_rules_or_drops() -> None:
    assert host_firewall.forwarding_users("", "-P FORWARD ACCEPT\n") == []
    assert host_firewall.forwarding_users("", "-P FORWARD DROP\n") == ["iptables FORWARD"]
    rules = "-P FORWARD ACCEPT\n-A FORWARD -j DOCKER-USER\n"
    assert host_firewall.forwarding_users("", rules) == ["iptables FORWARD"]
    # iptables-nft lists the same chain nft does: named once.
    assert host_firewall.forwarding_users(DOCKER_NFT, rules) == ["ip filter"]


def test_the_firewall_warning_names_the_fix_for_nft_and_legacy_iptables() -> None:
    warning = host_firewall.firewall_warning(DOCKER_NFT, "-P FORWARD DROP\n-N DOCKER-USER\n")
    assert warning is not None
    assert "(ip filter; Docker" in warning  # iptables-nft: the same chain, named once
    assert "iptables -I DOCKER-USER -i nimbus-br+ -j ACCEPT" in warning
    legacy = host_firewall.firewall_warning("", "-P FORWARD DROP\n")
    assert legacy is not None and "(iptables FORWARD;" in legacy
    assert host_firewall.firewall_warning("", "-P FORWARD ACCEPT\n") is None
    assert host_firewall.firewall_warning("", "") is None
