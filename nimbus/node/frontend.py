"""Stage 6: the frontend — one object per route table, each given only what it needs, and
the ASGI application over them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nimbus.frontend.aliases_api import AliasesApi
from nimbus.frontend.app import Apis, build_asgi
from nimbus.frontend.concurrency_api import ConcurrencyApi
from nimbus.frontend.events_api import EventsApi
from nimbus.frontend.fast_path import HotRoutes
from nimbus.frontend.functions_api import FunctionsApi
from nimbus.frontend.invoke_api import InvokeApi
from nimbus.frontend.layers_api import LayersApi
from nimbus.frontend.logs_api import LogsApi
from nimbus.frontend.node_api import NodeApi
from nimbus.frontend.provisioned_api import ProvisionedApi
from nimbus.frontend.root_api import RootApi
from nimbus.frontend.versions_api import VersionsApi

if TYPE_CHECKING:
    from nimbus.node import Node


def build_frontend(node: Node) -> HotRoutes:
    control, data, events = node.control, node.data, node.events
    arns = control.arns
    return build_asgi(
        Apis(
            functions=FunctionsApi(
                functions=control.functions,
                versions=control.versions,
                resolver=control.resolver,
                limits=data.counting,
                blobs=node.store.blobs,
                arns=arns,
            ),
            versions=VersionsApi(versions=control.versions, arns=arns),
            aliases=AliasesApi(aliases=control.aliases, arns=arns),
            layers=LayersApi(layers=control.layers, arns=arns),
            concurrency=ConcurrencyApi(concurrency=data.concurrency, arns=arns),
            provisioned=ProvisionedApi(provisioned=data.provisioned, arns=arns),
            events=EventsApi(event_configs=events.event_configs, events=events.events, arns=arns),
            invoke=InvokeApi(
                invoker=data.invoker, events=events.events, resolver=control.resolver, arns=arns
            ),
            logs=LogsApi(logs=node.store.logs),
            node=NodeApi(environments=data.assignment, metrics=data.metrics),
            root=RootApi(queues=events.queues, topics=events.topics),
        )
    )
