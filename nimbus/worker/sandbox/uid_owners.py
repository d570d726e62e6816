"""Which processes run under a range of uids, read from ``/proc``.

A sandbox uid is how the Runtime API tells environments apart (``worker.peer_uid``), so a
uid must never be handed to a new environment while a process of an older one still runs
under it: after a ``kill -9`` of the server such a survivor would connect to the new
environment's Runtime API and receive its events. Nothing here kills: a process found
under a uid may not be Nimbus's at all (another program's uid range), so a busy uid or block
is skipped, never emptied; a dead server's leftovers are killed through its cgroup tree
(``sandbox.orphans``), where they are known to be Nimbus's.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

PROC = "/proc"


@dataclass(frozen=True, kw_only=True)
class ProcUids:
    """The ``Uid:`` line of ``/proc/<pid>/status``: real, effective, saved set and fs uid."""

    real: int
    effective: int
    saved: int
    fs: int
    zombie: bool  # State Z: already dead, holds no socket, waits only to be reaped

    def within(self, low: int, high: int) -> bool:
        """Whether any of the uids is in ``[low, high)``: a process that can still act (or
        regain) as one of them (setresuid back to the saved uid)."""
        return any(low <= uid < high for uid in (self.real, self.effective, self.saved, self.fs))


def parse_status(text: str) -> ProcUids | None:
    """The uids of a ``/proc/<pid>/status`` text (pure); None when it has no Uid line."""
    uids: list[int] | None = None
    zombie = False
    for line in text.splitlines():
        if line.startswith("Uid:"):
            fields = line[4:].split()
            if len(fields) != 4 or not all(f.isdigit() for f in fields):
                return None
            uids = [int(f) for f in fields]
        elif line.startswith("State:"):
            zombie = line[6:].split()[:1] == ["Z"]
    if uids is None:
        return None
    return ProcUids(real=uids[0], effective=uids[1], saved=uids[2], fs=uids[3], zombie=zombie)


def _read_status(pid: str) -> str | None:
    try:
        fd = os.open(f"{PROC}/{pid}/status", os.O_RDONLY)
    except OSError:
        return None  # gone meanwhile
    try:
        return os.read(fd, 16384).decode(errors="replace")
    except OSError:
        return None
    finally:
        os.close(fd)


def owners(low: int, high: int) -> dict[int, ProcUids]:
    """Every live (non-zombie) process running under a uid in ``[low, high)``: one scan of
    ``/proc`` (a few ms on a busy machine)."""
    found: dict[int, ProcUids] = {}
    for name in os.listdir(PROC):
        if not name.isdigit():
            continue
        text = _read_status(name)
        uids = parse_status(text) if text is not None else None
        if uids is not None and not uids.zombie and uids.within(low, high):
            found[int(name)] = uids
    return found


def uids_in_use(candidates: Iterable[int], found: dict[int, ProcUids]) -> set[int]:
    """Which of ``candidates`` some process of ``found`` runs under (pure)."""
    wanted = set(candidates)
    used: set[int] = set()
    for uids in found.values():
        used.update(wanted.intersection((uids.real, uids.effective, uids.saved, uids.fs)))
    return used
