"""Whether authentication may be off (pure): ``NIMBUS_AUTH`` is "on" or "off", and "off" —
every caller the account's root — only where nobody else can reach the server."""

from __future__ import annotations

import ipaddress
from typing import Final

AUTH_MODES: Final = ("on", "off")


def loopback_problem(auth: str, host: str) -> str | None:
    """Why the server must not start with these settings (pure), or None: ``auth`` must be
    "on" or "off", and "off" only on a loopback address (127.0.0.0/8, ::1, localhost)."""
    if auth == "on":
        return None
    if auth != "off":
        return f"NIMBUS_AUTH must be 'on' or 'off', not {auth!r}."
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:
        pass
    return (
        f"Refusing to start with authentication off (NIMBUS_AUTH=off / --auth off) on {host}: "
        "anyone who can reach it could do anything. Listen on 127.0.0.1, ::1 or localhost, "
        "or turn authentication on."
    )
