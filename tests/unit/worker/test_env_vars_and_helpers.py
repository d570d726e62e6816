from __future__ import annotations

import socket
import struct
from pathlib import Path
from typing import Any

from nimbus.model.invocation import EnvironmentSpec
from nimbus.worker import env_vars, peer_uid
from nimbus.worker.sandbox.config import Bind, SandboxConfig
from nimbus.worker.sandbox.cpu_policy import cpu_quota_us


def spec(**kwargs: Any) -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name="f",
        function_version="3",
        function_arn="arn:f",
        runtime="python3.11",
        handler="app.h",
        code_dir=Path("/c"),
        **kwargs,
    )


def test_env_vars_reserved_win_and_defaults_overridable() -> None:
    env = env_vars.build(
        spec(
            environment={"AWS_REGION": "x", "TZ": "Asia/Tokyo", "MINE": "1"},
            memory_mb=512,
            endpoint_url="http://n:1",
        ),
        runtime_api="127.0.0.1:9",
        log_stream="s",
        paths=env_vars.Paths(),
        python_version="3.11",
    )
    assert env["AWS_REGION"] == "us-east-1" and env["TZ"] == "Asia/Tokyo" and env["MINE"] == "1"
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "3"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "512"
    assert env["AWS_LAMBDA_RUNTIME_API"] == "127.0.0.1:9"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.11"
    assert env["AWS_ENDPOINT_URL"] == "http://n:1"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" and "/opt/lib" in env["LD_LIBRARY_PATH"]
    assert env["PATH"] == "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin"
    assert "/opt/nodejs/node_modules" in env["NODE_PATH"]
    assert env_vars.exec_wrapper({"AWS_LAMBDA_EXEC_WRAPPER": " /opt/w "}) == "/opt/w"
    assert env_vars.exec_wrapper({}) is None


def test_cpu_quota_proportional_to_memory() -> None:
    # Quotas are per CPU_PERIOD_US (20 ms): one vCPU is the whole period.
    assert cpu_quota_us(1769, 2) == 20_000
    assert cpu_quota_us(128, 2) == 1447
    assert cpu_quota_us(10240, 2) == 40_000  # capped at the host's CPUs


def test_sandbox_config_round_trip() -> None:
    config = SandboxConfig(
        env_id="e",
        isolation="namespaces",
        environ={"A": "1"},
        workdir="/var/task",
        argv=("/x", "y"),
        sys_path=("/a",),
        binds=(Bind(source="/s", target="/t"),),
        cgroup_procs=("/p",),
    )
    assert SandboxConfig.from_json(config.to_json()) == config


def test_peer_uid_parses_diag_reply() -> None:
    header = struct.pack("=IHHII", 0, peer_uid.SOCK_DIAG_BY_FAMILY, 0, 1, 0)
    body = bytes(4 + 48 + 12) + struct.pack("=II", 100_007, 0)
    assert peer_uid.parse_response(header + body) == 100_007
    error = struct.pack("=IHHII", 0, peer_uid.NLMSG_ERROR, 0, 1, 0) + bytes(20)
    assert peer_uid.parse_response(error) is None


def test_peer_uid_finds_a_real_socket() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    accepted, peer = server.accept()
    lookup = peer_uid.PeerUidLookup()
    try:
        import os

        assert lookup.uid_of(peer, server.getsockname()) == os.geteuid()
        assert lookup.uid_of(("127.0.0.1", 1), server.getsockname()) is None
    finally:
        lookup.close()
        for s in (accepted, client, server):
            s.close()
