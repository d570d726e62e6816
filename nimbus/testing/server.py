"""A real `nimbus server` child process, for end-to-end tests and the benchmarks.

It lives in the package (not in tests/) so that `bench/` can use it without importing the
test suite; boto3 is a dev dependency, so `client()` imports it only when asked.

Authentication is on, as by default: the server is started with a fixed administrator key
(NIMBUS_ADMIN_ACCESS_KEY_ID / NIMBUS_ADMIN_SECRET_ACCESS_KEY), and `client()` and `http()`
sign with it. A test that means to be unsigned uses plain httpx.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

# Nimbus accepts any well-formed role ARN: this is the one the tests and benchmarks use (a
# role IAM does not know: it grants a function nothing; see create_role).
ROLE = "arn:aws:iam::000000000000:role/lambda-role"
REGION = "us-east-1"
# The administrator (the account's root) key the server is started with.
ADMIN_ACCESS_KEY_ID = "AKIANIMBUSTESTADMIN0"
ADMIN_SECRET_ACCESS_KEY = "nimbus-test-admin-secret-0000000000000000"
_TRUST_LAMBDA = (
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
    '"Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn_server(
    port: int, data_dir: Path, *, env: Mapping[str, str], stdout: Any, stderr: Any
) -> subprocess.Popen[bytes]:
    """`nimbus server --port PORT --data-dir DATA_DIR` as a child in a session of its own."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "nimbus.cli",
            "server",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ],
        stdout=stdout,
        stderr=stderr,
        env=env,
        start_new_session=True,
    )


def wait_until_serving(
    process: subprocess.Popen[bytes], url: str, logs: Callable[[], str], timeout: float
) -> None:
    """Until the server at ``url`` answers; RuntimeError (with ``logs()``) if ``process``
    exits first or ``timeout`` seconds go by."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nimbus server exited early:\n{logs()}")
        try:
            # Unsigned: any answer (403 MissingAuthenticationToken with auth on) means
            # the server is up.
            httpx.get(f"{url}/2016-08-19/account-settings", timeout=1.0)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise RuntimeError(f"nimbus server did not start:\n{logs()}")


def stop_server(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL to its session after 15 s; nothing if it is not running."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class NimbusServer:
    data_dir: Path
    port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        self.log_path = self.data_dir.parent / f"server-{self.port}.log"
        env = {
            **os.environ,
            "NIMBUS_ADMIN_ACCESS_KEY_ID": ADMIN_ACCESS_KEY_ID,
            "NIMBUS_ADMIN_SECRET_ACCESS_KEY": ADMIN_SECRET_ACCESS_KEY,
            **self.env,
        }
        # The child holds its own descriptor; ours would only leak (a ResourceWarning).
        with self.log_path.open("ab") as log:
            self.process = spawn_server(
                self.port, self.data_dir, env=env, stdout=log, stderr=subprocess.STDOUT
            )
        wait_until_serving(self.process, self.url, self.logs, timeout)

    def __enter__(self) -> NimbusServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def code_volume(self) -> Path | None:
        """Where this server's code volume is mounted (``sandbox.code_volume``, from its
        start-up log line), or None when it has none."""
        found = re.search(r"code volume of \d+ GB mounted at (\S+)", self.logs())
        return Path(found.group(1)) if found else None

    def kill9(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        stop_server(self.process)

    def client(
        self,
        service: str = "lambda",
        *,
        access_key_id: str = ADMIN_ACCESS_KEY_ID,
        secret_access_key: str = ADMIN_SECRET_ACCESS_KEY,
        session_token: str | None = None,
        **config: Any,
    ) -> Any:
        """A boto3 client for ``service`` pointed at this server, with retries off, signing
        with the administrator key (or the key given)."""
        import boto3
        from botocore.config import Config

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            aws_session_token=session_token,
            config=Config(retries={"max_attempts": 0}, read_timeout=120, **config),
        )

    def http(self, service: str = "lambda", **options: Any) -> httpx.Client:
        """An httpx client for raw requests to this server, each signed (SigV4, by botocore)
        for ``service`` with the administrator key; ``options`` go to ``httpx.Client``."""
        from nimbus.testing.signing import SigV4Auth

        options.setdefault("timeout", 120)
        return httpx.Client(
            base_url=self.url,
            auth=SigV4Auth(
                ADMIN_ACCESS_KEY_ID, ADMIN_SECRET_ACCESS_KEY, region=REGION, service=service
            ),
            **options,
        )

    def create_role(
        self,
        name: str,
        actions: Sequence[str] = (),
        *,
        policy: Mapping[str, Any] | None = None,
        resource: str = "*",
    ) -> str:
        """Create IAM role ``name`` (trusted by Lambda) whose inline policy allows ``actions``
        on ``resource`` (or is ``policy``); returns its ARN, for CreateFunction's Role."""
        import json

        iam = self.client("iam")
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=_TRUST_LAMBDA)
        arn: str = created["Role"]["Arn"]
        document = policy or {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
        }
        if policy is not None or actions:
            iam.put_role_policy(
                RoleName=name, PolicyName=f"{name}-policy", PolicyDocument=json.dumps(document)
            )
        return arn
