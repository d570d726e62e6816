"""The host's packet forwarding and firewall, as the isolated function network meets them
(pure): whether to turn ``net.ipv4.ip_forward`` on and contain it, and whether another
firewall drops what Nimbus forwards (``sandbox.network`` acts on these).
"""

from __future__ import annotations

from dataclasses import dataclass

from nimbus.worker.sandbox.network_policy import TABLE_PREFIX

FORWARD_MARKER = "ip-forward-enabled-by-nimbus"  # in the lock directory (forwarding_plan)


@dataclass(frozen=True, kw_only=True)
class Forwarding:
    enable: bool  # write 1 to net.ipv4.ip_forward
    contain: bool  # Rules.contain_forwarding
    warning: str


def forwarding_plan(ip_forward: str, *, marked: bool) -> Forwarding:
    """What to do about net.ipv4.ip_forward (NAT out needs it), given its value and whether
    an earlier Nimbus server left FORWARD_MARKER (it was 0 before Nimbus). Forwarding is
    for every interface: where Nimbus turned it on, traffic that touches no Nimbus bridge
    is dropped, so that the host routes for its functions and nobody else. It is left on
    at exit, as Docker leaves it: other software may rely on it by then."""
    if ip_forward.strip() != "1":
        return Forwarding(
            enable=True,
            contain=True,
            warning="net.ipv4.ip_forward was 0: enabling it for function networks; while "
            "Nimbus runs, forwarded traffic that enters or leaves no Nimbus bridge is dropped",
        )
    if marked:
        return Forwarding(
            enable=False,
            contain=True,
            warning="net.ipv4.ip_forward was enabled by an earlier Nimbus server: forwarded "
            "traffic that enters or leaves no Nimbus bridge is dropped while Nimbus runs",
        )
    return Forwarding(
        enable=False,
        contain=False,
        warning="net.ipv4.ip_forward is on (this host already routes between its "
        "interfaces): Nimbus leaves its other forwarding as it is",
    )


def forward_drop_tables(nft_ruleset: str) -> list[str]:
    """Tables of ``nft list ruleset`` (Nimbus's aside) with a forward chain whose policy is
    drop. Every base chain of a hook must accept a packet, so such a chain (Docker's
    ``ip filter FORWARD``, with iptables-nft) drops what Nimbus's table accepts."""
    found: list[str] = []
    table = ""
    for line in nft_ruleset.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[0] == "table":
            table = f"{fields[1]} {fields[2]}"
        elif (
            "hook forward" in line
            and "policy drop" in line
            and not table.split(" ")[-1].startswith(TABLE_PREFIX)
            and table not in found
        ):
            found.append(table)
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
