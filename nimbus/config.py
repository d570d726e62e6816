"""Server settings: one frozen value, built from CLI flags and NIMBUS_* environment
variables by the CLI and passed down — never imported as a global."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _env(name: str, default: str) -> str:
    return os.environ.get(f"NIMBUS_{name}", default)


def _floats(text: str, default: tuple[float, ...]) -> tuple[float, ...]:
    """``"0.2,0.4"`` -> (0.2, 0.4); empty means the default."""
    parts = [part for part in text.replace(" ", "").split(",") if part]
    return tuple(float(part) for part in parts) if parts else default


def _optional_ms(text: str, default: float | None) -> float | None:
    """``"25"`` -> 25.0; ``"off"`` -> None; empty means the default."""
    text = text.strip().lower()
    if not text:
        return default
    return None if text == "off" else float(text)


@dataclass(frozen=True, kw_only=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 9001
    data_dir: Path = Path(".nimbus")
    store: str = "sqlite"  # or a postgresql:// URL
    region: str = "us-east-1"
    account_id: str = "000000000000"
    isolation: str = "auto"  # auto | namespaces | process
    # shares: CPU weights proportional to MemorySize (idle CPU is never withheld); quota: a
    # hard CFS quota as AWS (128 MB = 7% of a CPU). See worker/sandbox/cpu_policy.py.
    cpu_limit: str = "shares"
    # isolated: each namespaces sandbox gets its own network namespace, NAT to the internet,
    # no route to this machine's services or private ranges (worker/sandbox/network.py);
    # host: sandboxes share the host's network (local development). function_host_ports
    # ("5432,6379") are host ports isolated functions reach at their gateway address.
    function_network: str = "isolated"
    function_host_ports: str = ""
    # The resolv.conf whose nameservers isolated functions use (a loopback one, such as
    # systemd-resolved's 127.0.0.53, is reached through their gateway).
    resolv_conf: str = "/etc/resolv.conf"
    # Explicit interpreters, "python3.12=/path/python3.12,nodejs22.x=/path/node"; every other
    # runtime uses what is found on this host (runtimes/probe.py).
    runtimes: str = ""
    keep_alive_s: float = 600.0  # idle environments are reaped after this long
    # How long an on-demand environment's Init may run before it is retried inside the first
    # invocation (AWS: 10 s; see worker.init_phase).
    init_timeout_s: float = 10.0
    # An environment idle this long is frozen (cgroup freezer) until its next invocation, as
    # AWS freezes environments between invocations; None ("off") never freezes. See
    # worker/environment.py; needs cgroups (namespaces isolation).
    freeze_idle_ms: float | None = 10.0
    account_concurrency: int = 1000
    scale_limit: int = 1000  # new environments per function per scale window (AWS: 1,000/10 s)
    scale_window_s: float = 10.0
    # The worker host's placement budget; 0 = four times the machine's memory (see
    # node.hosts.default_host_memory_mb for why).
    host_memory_mb: int = 0
    public_url: str = ""  # what functions use to call back (AWS_ENDPOINT_URL)
    log_level: str = "info"
    # Asynchronous invocation (events/): delays before the retries after a function error
    # (AWS: about 1 then 2 minutes), the exponential back-off after throttles and system
    # errors (AWS: from 1 s up to 5 minutes), how many events run at once, and how long a
    # claim on an event lasts before another poller may take it (longer than any timeout).
    async_retry_delays_s: tuple[float, ...] = (60.0, 120.0)
    async_backoff_s: tuple[float, float] = (1.0, 300.0)
    async_concurrency: int = 64
    async_claim_lease_s: float = 960.0
    # Bounded disk and descriptors (issue 11, leaks 6 and 7). Log bytes one invocation may
    # write (as CloudWatch counts them) before the rest is dropped behind a marker
    # (worker/log_pipe.py); days log events are kept (observability/log_retention.py); how
    # long an unreferenced code or layer blob stays before it and its extraction are deleted,
    # and how often that is checked (store/blob_gc.py); descriptors the server keeps free
    # below RLIMIT_NOFILE, refusing new connections with 429 when short
    # (frontend/http_protocol.py).
    log_limit_bytes: int = 10 * 1024 * 1024
    log_retention_days: int = 30
    code_gc_grace_s: float = 900.0
    code_gc_interval_s: float = 300.0
    fd_reserve: int = 256
    # The node key (base64 of 32 bytes) that seals secrets and environment variables at rest;
    # empty: <data_dir>/node.key, created on first start (auth/node_key.py).
    node_key: str = ""
    # on: every request is SigV4-authenticated and IAM-authorized (frontend/auth_gate.py);
    # off: nothing is checked and every request acts as the account's root — for throwaway
    # local use, so the server refuses it unless it listens on loopback.
    auth: str = "on"
    # The administrator (root) access key, made exactly these values at every start; empty:
    # one is created on first start, printed once and written to <data_dir>/admin.credentials
    # (node/identity.py).
    admin_access_key_id: str = ""
    admin_secret_access_key: str = ""
    # How long each environment's execution-role credentials last; an environment is retired
    # before they lapse (dataplane/credential_policy.py). At least 900 s (STS's minimum).
    role_credentials_ttl_s: float = 6 * 3600.0
    # How function URLs and HTTP APIs are spelled (web/endpoints.py):
    # <scheme>://<id>.lambda-url.<region>.<url_domain>[:<url_port>]/. ``localhost`` resolves
    # to loopback in browsers and curl; behind a wildcard DNS name and a reverse proxy, set
    # the public domain, scheme and port (0: the server's own port).
    url_domain: str = "localhost"
    url_scheme: str = "http"
    url_port: int = 0
    # RabbitMQ event source mappings (events/rabbitmq_brokers.py): broker names (the NAME of
    # arn:aws:mq:...:broker:NAME:ID) to AMQP URLs, "*" for any other name; and the JSON file
    # of brokers and secrets (BASIC_AUTH's secret names), re-read when it changes ("": the
    # data directory's mq.json).
    mq_brokers: str = "*=amqp://guest:guest@127.0.0.1:5672"
    mq_config: str = ""

    @property
    def endpoint_url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        values: dict[str, object] = {
            "host": _env("HOST", cls.host),
            "port": int(_env("PORT", str(cls.port))),
            "data_dir": Path(_env("DATA_DIR", str(cls.data_dir))),
            "store": _env("STORE", cls.store),
            "region": _env("REGION", cls.region),
            "account_id": _env("ACCOUNT_ID", cls.account_id),
            "isolation": _env("ISOLATION", cls.isolation),
            "cpu_limit": _env("CPU_LIMIT", cls.cpu_limit),
            "function_network": _env("FUNCTION_NETWORK", cls.function_network),
            "function_host_ports": _env("FUNCTION_HOST_PORTS", cls.function_host_ports),
            "resolv_conf": _env("RESOLV_CONF", cls.resolv_conf),
            "runtimes": _env("RUNTIMES", cls.runtimes),
            "keep_alive_s": float(_env("KEEP_ALIVE", str(cls.keep_alive_s))),
            "init_timeout_s": float(_env("INIT_TIMEOUT", str(cls.init_timeout_s))),
            "freeze_idle_ms": _optional_ms(_env("FREEZE_IDLE_MS", ""), cls.freeze_idle_ms),
            "account_concurrency": int(_env("ACCOUNT_CONCURRENCY", str(cls.account_concurrency))),
            "scale_limit": int(_env("SCALE_LIMIT", str(cls.scale_limit))),
            "scale_window_s": float(_env("SCALE_WINDOW", str(cls.scale_window_s))),
            "host_memory_mb": int(_env("HOST_MEMORY_MB", str(cls.host_memory_mb))),
            "public_url": _env("PUBLIC_URL", cls.public_url),
            "log_level": _env("LOG_LEVEL", cls.log_level),
            "async_retry_delays_s": _floats(
                _env("ASYNC_RETRY_DELAYS", ""), cls.async_retry_delays_s
            ),
            "async_backoff_s": _floats(_env("ASYNC_BACKOFF", ""), cls.async_backoff_s),
            "async_concurrency": int(_env("ASYNC_CONCURRENCY", str(cls.async_concurrency))),
            "async_claim_lease_s": float(_env("ASYNC_CLAIM_LEASE", str(cls.async_claim_lease_s))),
            "log_limit_bytes": int(_env("LOG_LIMIT_BYTES", str(cls.log_limit_bytes))),
            "log_retention_days": int(_env("LOG_RETENTION_DAYS", str(cls.log_retention_days))),
            "code_gc_grace_s": float(_env("CODE_GC_GRACE", str(cls.code_gc_grace_s))),
            "code_gc_interval_s": float(_env("CODE_GC_INTERVAL", str(cls.code_gc_interval_s))),
            "fd_reserve": int(_env("FD_RESERVE", str(cls.fd_reserve))),
            "node_key": _env("NODE_KEY", cls.node_key),
            "auth": _env("AUTH", cls.auth).strip().lower(),
            "admin_access_key_id": _env("ADMIN_ACCESS_KEY_ID", cls.admin_access_key_id),
            "admin_secret_access_key": _env("ADMIN_SECRET_ACCESS_KEY", cls.admin_secret_access_key),
            "role_credentials_ttl_s": float(
                _env("ROLE_CREDENTIALS_TTL", str(cls.role_credentials_ttl_s))
            ),
            "url_domain": _env("URL_DOMAIN", cls.url_domain).strip().lower().strip("."),
            "url_scheme": _env("URL_SCHEME", cls.url_scheme).strip().lower(),
            "url_port": int(_env("URL_PORT", str(cls.url_port))),
            "mq_brokers": _env("MQ_BROKERS", cls.mq_brokers),
            "mq_config": _env("MQ_CONFIG", cls.mq_config),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
