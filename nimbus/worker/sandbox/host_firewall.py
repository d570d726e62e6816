"""The host's packet forwarding and firewall, as the isolated function network meets them
(pure): whether to turn ``net.ipv4.ip_forward`` on and contain it, and whether another
firewall drops what Nimbus forwards (``sandbox.network`` acts on these).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nimbus.worker.sandbox.network_policy import TABLE_PREFIX

FORWARD_MARKER = "ip-forward-enabled-by-nimbus"  # in the lock directory (forwarding_plan)


@dataclass(frozen=True, kw_only=True)
class Forwarding:
    enable: bool  # write 1 to net.ipv4.ip_forward
    contain: bool  # Rules.contain_forwarding
    warning: str


def forwarding_plan(ip_forward: str, *, marked: bool, others: Sequence[str]) -> Forwarding:
    """What to do about net.ipv4.ip_forward (NAT out needs it), given its value, whether an
    earlier Nimbus server left FORWARD_MARKER (it was 0 before Nimbus) and ``others``, the
    firewalls that filter forwarding besides Nimbus (``forwarding_users``).

    Forwarding is for every interface: where Nimbus turned it on, IPv4 traffic that touches
    no Nimbus bridge is dropped, so that the host routes for its functions and nobody else.
    It is left on at exit, as Docker leaves it, and the marker stays (it goes at reboot):
    other software may have come to rely on forwarding by the next start. So containment
    also needs ``others`` empty: a forward chain of another table (Docker's, a firewall's)
    means someone else routes through this host, or decides what it routes, and dropping
    their traffic while Nimbus runs would break them."""
    on = ip_forward.strip() == "1"
    if on and not marked:
        return Forwarding(
            enable=False,
            contain=False,
            warning="net.ipv4.ip_forward is on (this host already routes between its "
            "interfaces): Nimbus leaves its other forwarding as it is",
        )
    first = (
        "net.ipv4.ip_forward was enabled by an earlier Nimbus server"
        if on
        else "net.ipv4.ip_forward was 0: enabling it for function networks"
    )
    if others:
        return Forwarding(
            enable=not on,
            contain=False,
            warning=f"{first}; other forwarding is left to the firewall that filters it "
            f"({', '.join(others)}): Nimbus does not drop it",
        )
    return Forwarding(
        enable=not on,
        contain=True,
        warning=f"{first}; while Nimbus runs, forwarded IPv4 traffic that enters or leaves "
        "no Nimbus bridge is dropped",
    )


def _forward_tables(nft_ruleset: str, *, dropping: bool) -> list[str]:
    """Tables of ``nft list ruleset`` (Nimbus's aside) with a base chain on the forward
    hook; with ``dropping``, only those whose policy is drop."""
    found: list[str] = []
    table = ""
    for line in nft_ruleset.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "table":
            table = f"{fields[1]} {fields[2]}"
        elif (
            "hook forward" in line
            and (not dropping or "policy drop" in line)
            and not table.split(" ")[-1].startswith(TABLE_PREFIX)
            and table not in found
        ):
            found.append(table)
    return found


def forward_drop_tables(nft_ruleset: str) -> list[str]:
    """Tables of ``nft list ruleset`` (Nimbus's aside) with a forward chain whose policy is
    drop. Every base chain of a hook must accept a packet, so such a chain (Docker's
    ``ip filter FORWARD``, with iptables-nft) drops what Nimbus's table accepts."""
    return _forward_tables(nft_ruleset, dropping=True)


def forwarding_users(nft_ruleset: str, iptables_forward: str) -> list[str]:
    """The firewalls that filter forwarded packets besides Nimbus, from ``nft list ruleset``
    (a table with a forward chain, whatever its policy) and ``iptables -S FORWARD``
    (iptables-legacy, whose FORWARD chain always exists: it counts when it has rules or
    drops by default)."""
    found = _forward_tables(nft_ruleset, dropping=False)
    lines = iptables_forward.splitlines()
    used = "-P FORWARD DROP" in lines or any(line.startswith("-A FORWARD ") for line in lines)
    if used and "ip filter" not in found:
        found.append("iptables FORWARD")
    return found


def firewall_warning(nft_ruleset: str, iptables_forward: str) -> str | None:
    """The warning for a host firewall that drops forwarded packets by default, from ``nft
    list ruleset`` and ``iptables -S FORWARD`` (iptables-legacy rules are not in nft's
    listing), or None."""
    where = forward_drop_tables(nft_ruleset)
    if "-P FORWARD DROP" in iptables_forward.splitlines() and "ip filter" not in where:
        where.append("iptables FORWARD")
    if not where:
        return None
    return (
        f"the host firewall drops forwarded packets by default ({', '.join(where)}; Docker "
        "does this), so isolated functions cannot reach the internet. Let the function "
        "bridges through, e.g. `iptables -I DOCKER-USER -i nimbus-br+ -j ACCEPT` and "
        "`iptables -I DOCKER-USER -o nimbus-br+ -m conntrack --ctstate RELATED,ESTABLISHED "
        '-j ACCEPT`, or in nft, `iifname "nimbus-br*" accept` and `oifname "nimbus-br*" ct '
        "state established,related accept` first in that chain"
    )
