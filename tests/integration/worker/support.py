"""Helpers for driving a real LocalWorkerHost in tests."""

from __future__ import annotations

import os
import textwrap
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nimbus.model.invocation import EnvironmentSpec, InvocationRequest, LogEvent

ARN = "arn:aws:lambda:us-east-1:000000000000:function:"
IS_ROOT = os.geteuid() == 0


class ListSink:
    def __init__(self) -> None:
        self.events: list[LogEvent] = []

    def emit(self, events: Sequence[LogEvent]) -> None:
        self.events.extend(events)

    def messages(self, stream: str) -> list[str]:
        return [e.message for e in self.events if e.stream == stream]


def write_code(root: Path, files: dict[str, str], *, executable: Sequence[str] = ()) -> Path:
    """A code directory as the control plane extracts one (world-readable, like AWS needs)."""
    code = root / f"code-{uuid.uuid4().hex[:8]}"
    code.mkdir(parents=True)
    code.chmod(0o755)
    for name, text in files.items():
        path = code / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o755)
        path.write_text(textwrap.dedent(text))
        path.chmod(0o755 if name in executable else 0o644)
    return code


def spec_for(
    code: Path,
    *,
    runtime: str = "python3.11",
    handler: str = "app.handler",
    name: str = "fn",
    **kwargs: Any,
) -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name=name,
        function_version="$LATEST",
        function_arn=ARN + name,
        runtime=runtime,
        handler=handler,
        code_dir=code,
        **kwargs,
    )


def request(
    spec: EnvironmentSpec,
    payload: bytes = b"{}",
    *,
    tail: bool = True,
    request_id: str | None = None,
    **kwargs: Any,
) -> InvocationRequest:
    return InvocationRequest(
        request_id=request_id or str(uuid.uuid4()),
        payload=payload,
        invoked_function_arn=spec.function_arn,
        deadline_ms=int(time.time() * 1000) + spec.timeout_s * 1000,
        tail_logs=tail,
        **kwargs,
    )
