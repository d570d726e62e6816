"""The host-wide settings a function network touches (root only): sysctls, the ip_forward
decision and its marker, the host firewall's check, and the resolv.conf environments get.
The decisions are ``host_firewall`` and ``network_policy`` (pure); this module reads and
writes what they decide on.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

from nimbus.worker.sandbox import host_firewall, network_policy

log = logging.getLogger(__name__)

IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
DEFAULT_RESOLV_CONF = Path("/etc/resolv.conf")


def write(path: str, value: str) -> None:
    with open(path, "w") as handle:
        handle.write(value)


def disable_ipv6(device: str) -> None:
    """No IPv6 on ``device``: the nft rules are IPv4 rules. A kernel booted with
    ipv6.disable=1 has no IPv6 at all, nor the file."""
    path = f"/proc/sys/net/ipv6/conf/{device}/disable_ipv6"
    if os.path.exists(path):
        write(path, "1")


def output(argv: list[str]) -> str:
    """The stdout of ``argv``, or "" when it cannot run (not installed) or fails."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout if result.returncode == 0 else ""


def forwarding(lock_dir: Path) -> host_firewall.Forwarding:
    """What to do about ip_forward here (``host_firewall.forwarding_plan``), given the
    firewalls that filter forwarding now (read before this server's table is loaded; other
    Nimbus servers' tables do not count)."""
    marked = (lock_dir / host_firewall.FORWARD_MARKER).exists()
    others = host_firewall.forwarding_users(
        output(["nft", "list", "ruleset"]), output(["iptables", "-S", "FORWARD"])
    )
    return host_firewall.forwarding_plan(IP_FORWARD.read_text(), marked=marked, others=others)


def enable_forwarding(plan: host_firewall.Forwarding, lock_dir: Path) -> None:
    """Carry out ``plan`` once the rules that contain it are loaded, and warn either way."""
    log.warning(plan.warning)
    if plan.enable:
        # The marker first: a server starting meanwhile then contains forwarding too. It
        # lives under /run, which goes at reboot, as ip_forward's value does.
        (lock_dir / host_firewall.FORWARD_MARKER).touch()
        write(str(IP_FORWARD), "1")


def warn_about_firewall() -> None:
    """Warn when another firewall drops what Nimbus forwards (Docker's FORWARD policy)."""
    warning = host_firewall.firewall_warning(
        output(["nft", "list", "ruleset"]), output(["iptables", "-S", "FORWARD"])
    )
    if warning is not None:
        log.warning(warning)


def sandbox_resolv_conf(
    host_resolv: str, configured: Path, path: Path, gateway: str
) -> Path | None:
    """The file environments see as /etc/resolv.conf, or None for the host's own.

    ``host_resolv`` is the text of ``configured`` (NIMBUS_RESOLV_CONF). When it names a
    loopback resolver, the resolv.conf ``network_policy.resolv_conf`` makes is written to
    ``path`` once per server; otherwise a file named by the setting is bound itself."""
    text = network_policy.resolv_conf(host_resolv, gateway)
    if text is None:
        default = configured == DEFAULT_RESOLV_CONF
        return None if default or not host_resolv else configured
    # Replaced atomically: a sandbox starting meanwhile binds the old file or the new one,
    # never half of one; readable by the runtimes' uids.
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f".{path.name}.{os.getpid()}")
    scratch.write_text(text)
    scratch.chmod(0o644)
    os.replace(scratch, path)
    return path
