"""The zygote client's rules, pure: its errors, how long to wait before restarting a dead
zygote, and which send failure means the zygote is gone (``sandbox.zygote`` acts on them)."""

from __future__ import annotations

import errno

# Delays before restart attempts after the zygote died: the first is immediate, later ones
# back off to a cap, so a zygote that dies at once on start does not spin the host.
RESTART_DELAYS_S = (0.0, 0.1, 0.5, 2.0, 5.0)
# A zygote that lived this long before dying starts the back-off from the beginning again.
STABLE_AFTER_S = 30.0
SPAWN_WAIT_S = 15.0  # how long a cold start waits for a (re)start before failing


class ZygoteError(Exception):
    pass


class ZygoteLost(ZygoteError):
    """The zygote died (or cannot be started): not the sandbox's fault, nothing was forked."""


def restart_delay(failures: int, delays: tuple[float, ...] = RESTART_DELAYS_S) -> float:
    """The wait before restart attempt ``failures + 1`` (pure; capped at the last delay)."""
    return delays[min(failures, len(delays) - 1)]


def unreachable(exc: OSError | None) -> ZygoteError:
    """What a cold start whose request could not be sent fails with: ZygoteLost when the
    zygote is gone (EPIPE, or the socket dropped: None), ZygoteError otherwise (ENOBUFS)."""
    lost = exc is None or exc.errno in (errno.EPIPE, errno.ECONNRESET, errno.ENOTCONN)
    return (ZygoteLost if lost else ZygoteError)(f"zygote unreachable: {exc or 'gone'}")
