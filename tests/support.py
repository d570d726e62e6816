"""Helpers for end-to-end tests: a real `nimbus server` process and zip builders.

The server and the zip builder live in `nimbus.testing` (the benchmarks use them too); this
module re-exports them beside the helpers only the tests need.
"""

from __future__ import annotations

from typing import Any

from nimbus.testing.archive import make_zip
from nimbus.testing.server import ROLE, NimbusServer, free_port

__all__ = ["ROLE", "NimbusServer", "create_function", "error_of", "free_port", "make_zip"]


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


def error_of(exc: Any) -> tuple[str, int, str]:
    """(error code, HTTP status, message) of a pytest.raises(ClientError) result."""
    err = exc.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"]["Message"]
