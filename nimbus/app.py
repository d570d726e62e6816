"""Running a node: build every part (``nimbus.node``), then serve its frontend with uvicorn.

The node is built before the listener opens, so a request never meets a half-built server,
and the listener closes before the node's parts do.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import signal
import threading
from collections.abc import Iterator

import uvicorn
import uvloop

from nimbus.config import Settings
from nimbus.frontend.auth_mode import loopback_problem
from nimbus.frontend.http_protocol import with_fd_reserve
from nimbus.node import open_node
from nimbus.node.frontend import build_frontend
from nimbus.worker.sandbox.network_policy import FUNCTION_NETWORK

log = logging.getLogger(__name__)


def tune_gc() -> None:
    """Everything built so far lives as long as the server: keep it out of the cyclic
    collector's way, and collect young objects less often (each request allocates hundreds of
    short-lived objects; the default threshold collects every ~700)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class _Server(uvicorn.Server):
    """uvicorn re-raises a captured SIGTERM/SIGINT once it stops serving, with the default
    handler restored, which kills the process before the node closes: sandboxes, their
    cgroups, network namespaces and disks would be left for the next start to clean up. Here
    the signal only stops serving; the node then closes and ``run`` returns."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


async def serve(settings: Settings) -> None:
    """Serve a node until stopped; refused (ValueError) before anything is built when
    ``settings.auth`` is neither "on" nor "off", or is "off" on an address off loopback
    (``auth_gate.loopback_problem``): every entry point, not only the CLI, fails closed."""
    problem = loopback_problem(settings.auth, settings.host)
    if problem is not None:
        raise ValueError(problem)
    async with open_node(settings) as node:
        server = _Server(
            uvicorn.Config(
                build_frontend(node),
                host=settings.host,
                port=settings.port,
                log_level="warning",
                access_log=False,
                http=with_fd_reserve(settings.fd_reserve, capped_network=FUNCTION_NETWORK),
                lifespan="off",  # the node is already built, and closes after the server
                proxy_headers=False,  # nothing sits in front of it; saves a middleware
                server_header=False,
            )
        )
        tune_gc()
        log.info("nimbus listening on %s", settings.endpoint_url)
        await server.serve()


def run(settings: Settings) -> None:
    problem = loopback_problem(settings.auth, settings.host)
    if problem is not None:  # before an event loop is started for nothing
        raise ValueError(problem)
    uvloop.run(serve(settings))
