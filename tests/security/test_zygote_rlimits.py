"""Leak 6 of issue 11, the sandbox's side: a function gets AWS's 1,024 file descriptors, not
the server's limit (tens of thousands, enough to starve the server), and no core dumps."""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root")

LIMITS = """
import os, resource
def handler(event, context):
    opened = []
    try:
        while len(opened) < 5000:
            opened.append(os.open("/dev/null", os.O_RDONLY))
    except OSError as exc:
        failed_with = exc.errno
    finally:
        for fd in opened:
            os.close(fd)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))
        raised = True
    except (OSError, ValueError):
        raised = False
    return {"raised": raised, "nofile": resource.getrlimit(resource.RLIMIT_NOFILE),
            "core": resource.getrlimit(resource.RLIMIT_CORE),
            "opened": len(opened), "errno": failed_with}
"""


def test_a_function_gets_1024_descriptors_and_no_core_dumps(module_lam: Any, fname: str) -> None:
    deploy(module_lam, fname, LIMITS)
    response, out = call(module_lam, fname, {})
    assert "FunctionError" not in response, out
    assert out["nofile"] == [1024, 1024]
    assert out["core"] == [0, 0]
    assert 1000 < out["opened"] < 1024  # a few are the runtime's own
    assert out["errno"] == 24  # EMFILE
    assert out["raised"] is False  # an unprivileged process cannot raise a hard limit
