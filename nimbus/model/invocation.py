"""Values that cross the data plane <-> worker boundary for one invocation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class SessionCredentials:
    """Temporary credentials of the function's execution role, as one environment gets them
    (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN); never in a repr."""

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: float  # epoch seconds


@dataclass(frozen=True, kw_only=True)
class EnvironmentSpec:
    """Everything a worker host needs to create one execution environment.

    One spec describes one function version's configuration; every environment made from
    it is interchangeable (that is what lets the assignment service reuse warm ones).
    """

    function_name: str
    function_version: str  # "$LATEST" or "1", "2", ...
    function_arn: str  # unqualified function ARN
    runtime: str  # "python3.11", "nodejs20.x", "provided.al2023", ...
    architecture: str = "x86_64"  # as declared ("x86_64" or "arm64"), whatever the host is
    handler: str  # "app.handler"; unused by provided runtimes but still passed as _HANDLER
    code_dir: Path  # extracted code, mounted read-only at /var/task
    layer_dirs: tuple[Path, ...] = ()  # extracted layers, merged in order under /opt
    memory_mb: int = 128
    timeout_s: int = 3
    ephemeral_storage_mb: int = 512
    # The user's variables; never in a repr (a logged spec must not carry them).
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    role_arn: str = ""  # the function's execution role
    # Set per environment by the data plane at its cold start (dataplane/execution_role.py),
    # not part of what makes environments interchangeable: ``config_key`` is.
    credentials: SessionCredentials | None = field(default=None, repr=False)
    region: str = "us-east-1"
    account_id: str = "000000000000"
    endpoint_url: str = ""  # AWS_ENDPOINT_URL inside the function: this Nimbus
    initialization_type: str = "on-demand"  # or "provisioned-concurrency"
    # Identity of the configuration (RevisionId + code sha): environments built from an older
    # configuration are retired when it changes.
    config_key: str = ""

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.function_name}"


@dataclass(frozen=True, kw_only=True)
class InvocationRequest:
    request_id: str
    payload: bytes
    invoked_function_arn: str
    deadline_ms: int  # epoch milliseconds after which the invocation times out
    trace_id: str = ""
    client_context: str | None = None  # JSON text (X-Amz-Client-Context, decoded)
    cognito_identity: str | None = None
    tail_logs: bool = False


@dataclass(frozen=True, kw_only=True)
class InvocationResult:
    payload: bytes
    # None on success; "Unhandled" when the function raised or the runtime failed.
    function_error: str | None = None
    log_tail: str = ""  # last lines of this invocation's log (START..REPORT), <= 4 KB
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    init_duration_ms: float | None = None  # set on the invocation that paid the cold start
    max_memory_used_mb: int = 0
    # True when the environment must not be reused (timeout, crash, OOM, init failure).
    environment_dead: bool = False


@dataclass(frozen=True, kw_only=True)
class LogEvent:
    group: str
    stream: str
    timestamp_ms: int
    message: str
