"""Composition root: builds every part once and wires them together."""

from __future__ import annotations

import asyncio
import logging
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette

from nimbus.clock import SystemClock
from nimbus.config import Settings
from nimbus.control.functions import FunctionService
from nimbus.frontend.app import build_asgi
from nimbus.frontend.context import AccountLimit, Services
from nimbus.model.arn import Arns
from nimbus.runtimes import registry
from nimbus.store.blobs import BlobStore
from nimbus.store.database import database_url, open_engine
from nimbus.store.functions import FunctionRepository

log = logging.getLogger(__name__)


def _node_major() -> int | None:
    node = shutil.which("node")
    if node is None:
        return None
    try:
        out = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10)
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


@dataclass(kw_only=True)
class Node:
    """Everything one `nimbus server` process runs."""

    settings: Settings
    services: Services

    async def close(self) -> None:
        await self.services.functions.close()


@asynccontextmanager
async def open_node(settings: Settings) -> AsyncIterator[Node]:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = SystemClock()
    engine = await open_engine(database_url(settings.store, settings.data_dir))
    blobs = BlobStore(settings.data_dir / "code")
    arns = Arns(region=settings.region, account=settings.account_id)
    python_version = f"{sys.version_info.major}.{sys.version_info.minor}"
    runnable = registry.probe_runnable((python_version,), _node_major())
    functions = FunctionService(
        repo=FunctionRepository(engine),
        blobs=blobs,
        arns=arns,
        clock=clock,
        runnable_runtimes=lambda: runnable,
    )
    services = Services(
        functions=functions,
        blobs=blobs,
        account_limit=lambda: AccountLimit(
            concurrent_executions=settings.account_concurrency,
            unreserved=settings.account_concurrency,
        ),
    )
    node = Node(settings=settings, services=services)
    await functions.resume_pending()
    try:
        yield node
    finally:
        await node.close()
        await engine.dispose()


def build_app(settings: Settings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with open_node(settings) as node:
            app.state.services = node.services
            log.info("nimbus listening on %s", settings.endpoint_url)
            yield

    placeholder = Services.__new__(Services)
    return build_asgi(placeholder, lifespan=lifespan)


__all__ = ["asyncio", "build_app", "open_node"]
