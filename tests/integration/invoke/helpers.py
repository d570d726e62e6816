"""Shared helpers for invoke tests: deploy a function from source and wait for Active."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from tests.support import ROLE, make_zip


def deploy(
    lam: Any,
    name: str,
    source: str | Mapping[str, str | bytes],
    *,
    runtime: str = "python3.11",
    handler: str = "app.handler",
    modes: dict[str, int] | None = None,
    **config: Any,
) -> dict[str, Any]:
    files = (
        {"app.py" if runtime.startswith("python") else "index.js": source}
        if isinstance(source, str)
        else source
    )
    params: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": runtime,
        "Role": ROLE,
        "Code": {"ZipFile": make_zip(files, modes=modes)},
    }
    if handler:
        params["Handler"] = handler
    params.update(config)
    created: dict[str, Any] = lam.create_function(**params)
    lam.get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    return created


def call(lam: Any, name: str, payload: Any = None, **kw: Any) -> tuple[dict[str, Any], Any]:
    """Invoke; returns (raw response, decoded JSON payload or None)."""
    body = b"" if payload is None else json.dumps(payload).encode()
    response: dict[str, Any] = lam.invoke(FunctionName=name, Payload=body, **kw)
    raw = response["Payload"].read()
    return response, (json.loads(raw) if raw else None)


def settled_provisioned(
    lam: Any, name: str, qualifier: str, *, timeout_s: float = 30
) -> dict[str, Any]:
    """GetProvisionedConcurrencyConfig once its status has left IN_PROGRESS (or at the
    deadline, whatever it says then)."""
    deadline = time.monotonic() + timeout_s
    while True:
        config: dict[str, Any] = lam.get_provisioned_concurrency_config(
            FunctionName=name, Qualifier=qualifier
        )
        if config["Status"] != "IN_PROGRESS" or time.monotonic() >= deadline:
            return config
        time.sleep(0.1)
