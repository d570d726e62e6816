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
from nimbus.control.code_signing import CodeSigningService
from nimbus.control.function_policies import FunctionPolicyService
from nimbus.control.function_urls import FunctionUrlService
from nimbus.control.functions import FunctionService
from nimbus.control.http_apis import HttpApiService
from nimbus.control.layers import LayerService
from nimbus.control.recursion import RecursionService
from nimbus.control.resolver import QualifierResolver
from nimbus.control.versions import VersionService
from nimbus.model.arn import Arns
from nimbus.node.store import StoreParts
from nimbus.store.aliases import AliasRepository
from nimbus.store.code_signing import CodeSigningRepository
from nimbus.store.function_policies import FunctionPolicyRepository
from nimbus.store.function_recursion import FunctionRecursionRepository
from nimbus.store.function_urls import FunctionUrlRepository
from nimbus.store.functions import FunctionRepository
from nimbus.store.http_apis import HttpApiRepository
from nimbus.store.layers import LayerRepository
from nimbus.web.endpoints import EndpointNames


@dataclass(frozen=True, kw_only=True)
class ControlPlane:
    arns: Arns
    functions: FunctionService
    layers: LayerService
    aliases: AliasService
    versions: VersionService
    resolver: QualifierResolver
    policies: FunctionPolicyService
    recursion: RecursionService
    code_signing: CodeSigningService
    function_urls: FunctionUrlService
    http_apis: HttpApiService


def endpoint_names(settings: Settings) -> EndpointNames:
    """How function URLs and HTTP APIs are spelled (``web.endpoints``)."""
    return EndpointNames(
        region=settings.region,
        domain=settings.url_domain,
        scheme=settings.url_scheme,
        port=settings.url_port or settings.port,
    )


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
    function_repo = FunctionRepository(store.engine, sealer=store.node_key)
    # Variables stored in clear by an older Nimbus are sealed before anything serves.
    await function_repo.reseal_plaintext()
    code_signing = CodeSigningService(
        repo=CodeSigningRepository(store.engine),
        functions=function_repo,
        arns=arns,
        clock=clock,
        layer_blob=layers.layer_blob,
        blobs=store.blobs,
    )
    functions = FunctionService(
        repo=function_repo,
        blobs=store.blobs,
        arns=arns,
        clock=clock,
        layers=layers.resolve,
        runnable_runtimes=lambda: runtimes,
        code_signing=code_signing,
    )
    stack.push_async_callback(functions.close)
    aliases = AliasService(repo=AliasRepository(store.engine), functions=functions)
    versions = VersionService(
        repo=function_repo,
        functions=functions,
        alias_users=aliases.referencing,
        clock=clock,
    )
    resolver = QualifierResolver(functions=functions, aliases=aliases)
    policies = FunctionPolicyService(
        repo=FunctionPolicyRepository(store.engine), functions=functions, aliases=aliases, arns=arns
    )
    recursion = RecursionService(
        repo=FunctionRecursionRepository(store.engine), functions=functions, arns=arns
    )
    function_urls = FunctionUrlService(
        repo=FunctionUrlRepository(store.engine),
        functions=functions,
        aliases=aliases,
        arns=arns,
        names=endpoint_names(settings),
        clock=clock,
    )
    http_apis = HttpApiService(repo=HttpApiRepository(store.engine), arns=arns, clock=clock)
    return ControlPlane(
        function_urls=function_urls,
        http_apis=http_apis,
        arns=arns,
        functions=functions,
        layers=layers,
        aliases=aliases,
        versions=versions,
        resolver=resolver,
        policies=policies,
        recursion=recursion,
        code_signing=code_signing,
    )
