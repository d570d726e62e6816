"""Leak 1 of issue 11: one function's environment variables must not reach another function's
memory through the zygote both are forked from.

Function A gets a random secret in its environment. Later sandboxes (fresh cold starts,
forked from the same zygote) scan their own writable memory for it. They are given only a
prefix of the secret and its sha256, so the full secret is in their memory only if it
leaked; a hit on the prefix is hashed to tell the event's own copy from a leaked one.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root")

VICTIM = "import os\ndef handler(event, context):\n    return len(os.environ['SECRET'])\n"

# /proc/self/mem of a process that changed uid is root's (not dumpable) until the process
# makes itself dumpable again, which any process may do: a hostile function would.
SCANNER = """
import ctypes, hashlib, re

def handler(event, context):
    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
    prefix = event["prefix"].encode()
    size, want = event["size"], event["sha256"]
    regions = hits = found = 0
    with open("/proc/self/maps") as maps, open("/proc/self/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            if not fields[1].startswith("rw"):
                continue
            start, end = (int(x, 16) for x in fields[0].split("-"))
            try:
                mem.seek(start)
                data = mem.read(end - start)
            except (OSError, OverflowError, ValueError):
                continue
            regions += 1
            for match in re.finditer(re.escape(prefix), data):
                hits += 1
                candidate = data[match.start() : match.start() + size]
                found += hashlib.sha256(candidate).hexdigest() == want
    return {"regions": regions, "hits": hits, "found": found}
"""


def test_a_secret_in_one_functions_environment_is_not_in_later_sandboxes_memory(
    module_lam: Any, fname: str
) -> None:
    secret = secrets.token_hex(24)
    deploy(
        module_lam,
        f"{fname}-victim",
        VICTIM,
        Environment={"Variables": {"SECRET": secret}},
    )
    assert call(module_lam, f"{fname}-victim", {})[1] == len(secret)
    event = {
        "prefix": secret[:12],
        "size": len(secret),
        "sha256": hashlib.sha256(secret.encode()).hexdigest(),
    }
    # Three fresh cold starts: the pre-forked launchers (two by default) may predate the
    # victim's spawn, the third is forked after it.
    for n in range(3):
        name = f"{fname}-scanner{n}"
        deploy(module_lam, name, SCANNER, MemorySize=256, Timeout=30)
        response, out = call(module_lam, name, event)
        assert "FunctionError" not in response, out
        assert out["regions"] > 0 and out["hits"] >= 1, out  # it saw its own event's prefix
        assert out["found"] == 0, f"scanner {n} found the victim's secret in its memory"
