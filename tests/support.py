"""Helpers for end-to-end tests: a real `nimbus server` process and zip builders.

The server and the zip builder live in `nimbus.testing` (the benchmarks use them too); this
module re-exports them beside the helpers only the tests need.
"""

from __future__ import annotations

import time
from typing import Any

from nimbus.testing.archive import make_zip
from nimbus.testing.server import ROLE, NimbusServer, free_port

__all__ = [
    "ROLE",
    "NimbusServer",
    "create_function",
    "error_of",
    "free_port",
    "make_zip",
    "settle",
]


def create_function(lam: Any, name: str, *, code: bytes, **overrides: Any) -> dict[str, Any]:
    """CreateFunction of a python3.11 `app.handler` from ``code``; ``overrides`` win."""
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": "python3.11",
        "Role": ROLE,
        "Handler": "app.handler",
        "Code": {"ZipFile": code},
    }
    params.update(overrides)
    result: dict[str, Any] = lam.create_function(**params)
    return result


def settle(lam: Any, name: str) -> None:
    """Wait (up to 10 s) until the function is Active and its last update Successful."""
    deadline = time.monotonic() + 10
    while True:
        config = lam.get_function_configuration(FunctionName=name)
        if config["State"] == "Active" and config["LastUpdateStatus"] == "Successful":
            return
        assert time.monotonic() < deadline, config
        time.sleep(0.02)


def error_of(exc: Any) -> tuple[str, int, str]:
    """(error code, HTTP status, message) of a pytest.raises(ClientError) result."""
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]
