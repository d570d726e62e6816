"""Stage 3: the control plane — functions, layers, aliases, versions and the qualifier
resolver. Nothing here runs code; the data plane reads it. (Asynchronous-invocation settings
are built with the events stage: checking their destinations needs its queues and topics.)"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass

from nimbus.clock import Clock
from nimbus.config import Settings
from nimbus.control.aliases import AliasService
from nimbus.control.functions import FunctionService
from nimbus.control.layers import LayerService
from nimbus.control.resolver import QualifierResolver
from nimbus.control.versions import VersionService
from nimbus.model.arn import Arns
from nimbus.node.store import StoreParts
from nimbus.store.aliases import AliasRepository
from nimbus.store.functions import FunctionRepository
from nimbus.store.layers import LayerRepository


@dataclass(frozen=True, kw_only=True)
class ControlPlane:
    arns: Arns
    functions: FunctionService
    layers: LayerService
    aliases: AliasService
    versions: VersionService
    resolver: QualifierResolver


async def open_control(
    settings: Settings,
    store: StoreParts,
    *,
    runtimes: Sequence[str],
    clock: Clock,
    stack: AsyncExitStack,
) -> ControlPlane:
    arns = Arns(region=settings.region, account=settings.account_id)
    layers = LayerService(
        repo=LayerRepository(store.engine), blobs=store.blobs, arns=arns, clock=clock
    )
    functions = FunctionService(
        repo=FunctionRepository(store.engine),
        blobs=store.blobs,
        arns=arns,
        clock=clock,
        layers=layers.resolve,
        runnable_runtimes=lambda: runtimes,
    )
    stack.push_async_callback(functions.close)
    aliases = AliasService(repo=AliasRepository(store.engine), functions=functions)
    versions = VersionService(
        repo=FunctionRepository(store.engine),
        functions=functions,
        alias_users=aliases.referencing,
        clock=clock,
    )
    resolver = QualifierResolver(functions=functions, aliases=aliases)
    return ControlPlane(
        arns=arns,
        functions=functions,
        layers=layers,
        aliases=aliases,
        versions=versions,
        resolver=resolver,
    )
