"""Leak 3 of issue 11: the kernel keyring is not namespaced and keys belong to uids, which
environments reuse; so a function can neither add a key nor read one."""

from __future__ import annotations

import errno
import os
import platform
import secrets
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root"),
    pytest.mark.skipif(
        platform.machine() not in ("x86_64", "aarch64"), reason="syscall numbers of x86_64/arm64"
    ),
]

KEYS = r"""
import ctypes, platform
NR = {"x86_64": (248, 249, 250), "aarch64": (217, 218, 219)}[platform.machine()]
ADD_KEY, REQUEST_KEY, KEYCTL = NR
libc = ctypes.CDLL(None, use_errno=True)
L = ctypes.c_long

def errno_of(result):
    return 0 if result != -1 else ctypes.get_errno()

def handler(event, context):
    name = event["name"].encode()
    out = {}
    for ring, where in ((-3, "session"), (-4, "user")):  # KEY_SPEC_*_KEYRING
        out["add_" + where] = errno_of(
            libc.syscall(L(ADD_KEY), b"user", name, b"secret", L(6), L(ring))
        )
        out["read_" + where] = errno_of(libc.syscall(L(KEYCTL), L(0), L(ring), L(0)))
    out["request"] = errno_of(libc.syscall(L(REQUEST_KEY), b"user", name, None, L(0)))
    out["proc_keys"] = open("/proc/keys").read()
    return out
"""


def test_functions_cannot_add_or_read_keys(module_lam: Any, fname: str) -> None:
    name = f"nimbus-probe-{secrets.token_hex(8)}"
    for who in ("adder", "reader"):
        deploy(module_lam, f"{fname}-{who}", KEYS)
        response, out = call(module_lam, f"{fname}-{who}", {"name": name})
        assert "FunctionError" not in response, out
        for call_name in ("add_session", "add_user", "read_session", "read_user", "request"):
            assert out[call_name] == errno.EPERM, (who, call_name, out)
        assert name not in out["proc_keys"]
