"""Shared by the CLI end-to-end tests: `nimbus ...` as a subprocess with a clean environment,
and a `nimbus server` started the way `make run` starts it (no key set), whose stdout and
stderr are kept apart."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from nimbus.testing.server import free_port, spawn_server, stop_server, wait_until_serving

# What would leak the test runner's own keys or data directory into a command.
_SCRUBBED = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "NIMBUS_ADMIN_ACCESS_KEY_ID",
    "NIMBUS_ADMIN_SECRET_ACCESS_KEY",
    "NIMBUS_DATA_DIR",
    "NIMBUS_ENDPOINT",
    "NIMBUS_REGION",
    "NIMBUS_AUTH",
    "NIMBUS_HOST",
    "NIMBUS_PORT",
)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    env.update(extra)
    return env


def nimbus(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """`python -m nimbus.cli ARGS`, environment scrubbed of credentials unless ``env`` says."""
    return subprocess.run(
        [sys.executable, "-m", "nimbus.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env if env is not None else clean_env(),
        cwd=cwd,
    )


@dataclass
class PlainServer:
    """`nimbus server` with no administrator key in its environment (as `make run`)."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> tuple[Path, Path]:
        """Start it; the files its stdout and stderr go to."""
        self.starts += 1
        out = self.data_dir.parent / f"plain-{self.port}-{self.starts}.out"
        err = self.data_dir.parent / f"plain-{self.port}-{self.starts}.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            self.process = spawn_server(
                self.port, self.data_dir, env=clean_env(), stdout=stdout, stderr=stderr
            )
        try:
            wait_until_serving(self.process, self.url, err.read_text, timeout)
        except RuntimeError:
            self.stop()  # nothing, if it exited early
            raise
        return out, err

    def stop(self) -> None:
        stop_server(self.process)
