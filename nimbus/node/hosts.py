"""Stage 2: the worker hosts and the placement over them. Built before the control plane,
which offers only the runtimes some host can run."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from contextlib import AsyncExitStack

from nimbus.clock import Clock
from nimbus.config import Settings
from nimbus.dataplane.placement import HostSlot, Placement
from nimbus.observability.logs import LogStore
from nimbus.runtimes import discovery, probe
from nimbus.worker.host import LocalWorkerHost
from nimbus.worker.sandbox import network_policy
from nimbus.worker.sandbox.code_volume import CodeVolume

log = logging.getLogger(__name__)


def default_host_memory_mb() -> int:
    """Four times the machine's memory. Placement books each environment at its MemorySize,
    but an environment forked from a zygote really uses a few MB (measured: 1-2 MB private),
    and its cgroup enforces its own limit; booking 1:1 would refuse work the machine does
    easily. Sandboxes carry the highest OOM score, so true exhaustion kills functions, not
    the server. Set NIMBUS_HOST_MEMORY_MB for a strict budget."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return max(1024, 4 * pages // (1024 * 1024))


def network_options(settings: Settings) -> network_policy.NetworkOptions | None:
    """The function network settings; None for ``host``. Raises ValueError for a bad
    NIMBUS_FUNCTION_NETWORK or NIMBUS_FUNCTION_HOST_PORTS."""
    mode = network_policy.parse_mode(settings.function_network)
    ports = network_policy.parse_host_ports(settings.function_host_ports)
    if mode == network_policy.HOST:
        return None
    return network_policy.NetworkOptions(
        api_host=settings.host,
        api_port=settings.port,
        host_ports=ports,
        resolv_conf=settings.resolv_conf,
    )


async def open_placement(
    settings: Settings,
    *,
    logs: LogStore,
    clock: Clock,
    stack: AsyncExitStack,
    volume: CodeVolume | None = None,
) -> Placement:
    runtimes = await asyncio.to_thread(
        probe.discover,
        overrides=discovery.parse_overrides(settings.runtimes),
        server_python=sys.executable,
    )
    for entry in runtimes.entries:
        if entry.interpreter is not None:
            log.info("runtime %s: %s", entry.runtime, entry.interpreter.path)
    host = LocalWorkerHost(
        data_dir=settings.data_dir / "sandboxes",
        log_sink=logs,
        clock=clock,
        isolation=settings.isolation,
        cpu_limit=settings.cpu_limit,
        init_timeout_s=settings.init_timeout_s,
        log_limit_bytes=settings.log_limit_bytes,
        freeze_idle_ms=settings.freeze_idle_ms,
        runtimes=runtimes,
        network=network_options(settings),
        volume=volume,
    )
    await host.start()
    placement = Placement(
        [
            HostSlot(
                id="local",
                host=host,
                budget_mb=settings.host_memory_mb or default_host_memory_mb(),
            )
        ]
    )
    stack.push_async_callback(placement.close)
    return placement
