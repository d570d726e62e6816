"""The ASGI application: every route table's routes, errors rendered in one place, and the
fast path in front."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from nimbus.errors import NimbusError
from nimbus.frontend.aliases_api import AliasesApi
from nimbus.frontend.code_signing_api import CodeSigningApi
from nimbus.frontend.concurrency_api import ConcurrencyApi
from nimbus.frontend.errors import handle_exception
from nimbus.frontend.events_api import EventsApi
from nimbus.frontend.fast_path import HotRoutes
from nimbus.frontend.function_urls_api import FunctionUrlsApi
from nimbus.frontend.functions_api import FunctionsApi
from nimbus.frontend.http_apis_api import HttpApisApi
from nimbus.frontend.invoke_api import InvokeApi
from nimbus.frontend.layers_api import LayersApi
from nimbus.frontend.logs_api import LogsApi
from nimbus.frontend.mappings_api import MappingsApi
from nimbus.frontend.node_api import NodeApi
from nimbus.frontend.policy_api import PolicyApi
from nimbus.frontend.provisioned_api import ProvisionedApi
from nimbus.frontend.recursion_api import RecursionApi
from nimbus.frontend.request_ids import RequestIds
from nimbus.frontend.root_api import RootApi
from nimbus.frontend.scheduler_api import SchedulerApi
from nimbus.frontend.versions_api import VersionsApi

Lifespan = Callable[[Starlette], AbstractAsyncContextManager[None]]


@dataclass(frozen=True, kw_only=True)
class Apis:
    """One object per route table, each built with the services it needs."""

    functions: FunctionsApi
    versions: VersionsApi
    aliases: AliasesApi
    layers: LayersApi
    concurrency: ConcurrencyApi
    provisioned: ProvisionedApi
    events: EventsApi
    invoke: InvokeApi
    logs: LogsApi
    node: NodeApi
    root: RootApi
    mappings: MappingsApi
    policy: PolicyApi
    recursion: RecursionApi
    code_signing: CodeSigningApi
    function_urls: FunctionUrlsApi
    http_apis: HttpApisApi
    scheduler: SchedulerApi

    def routes(self) -> list[BaseRoute]:
        return [
            *self.functions.routes(),
            *self.invoke.routes(),
            *self.concurrency.routes(),
            *self.provisioned.routes(),
            *self.logs.routes(),
            *self.node.routes(),
            *self.versions.routes(),
            *self.aliases.routes(),
            *self.layers.routes(),
            *self.events.routes(),
            *self.mappings.routes(),
            *self.policy.routes(),
            *self.recursion.routes(),
            *self.code_signing.routes(),
            *self.function_urls.routes(),
            *self.http_apis.routes(),
            *self.scheduler.routes(),
            *self.root.routes(),
        ]


def starlette_app(routes: Sequence[BaseRoute], *, lifespan: Lifespan | None = None) -> Starlette:
    """A Starlette application serving ``routes``, every error rendered by
    ``errors.render_error`` (unknown paths and methods as UnknownOperationException)."""
    return Starlette(
        routes=list(routes),
        exception_handlers={
            NimbusError: handle_exception,
            404: handle_exception,
            405: handle_exception,
            Exception: handle_exception,
        },
        lifespan=lifespan,
    )


def build_asgi(
    apis: Apis,
    *,
    lifespan: Lifespan | None = None,
    gate: Callable[[ASGIApp], ASGIApp] | None = None,
) -> ASGIApp:
    """The application: the fast path over Starlette, behind ``gate`` (``auth_gate.AuthGate``:
    authentication and authorization, outside everything) when given."""
    hot = HotRoutes(
        RequestIds(starlette_app(apis.routes(), lifespan=lifespan)),
        invoke=apis.invoke.invoke,
        root=apis.root.root,
    )
    return hot if gate is None else gate(hot)
