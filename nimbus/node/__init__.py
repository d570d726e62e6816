"""The composition root: builds one node's parts in dependency order and wires them.

    store -> hosts -> control plane -> identity -> data plane -> queues/topics/events
          -> EventBridge -> frontend

Each stage is a function that takes what earlier stages built and returns a frozen dataclass
of what it built; every dependency is passed to a constructor. Cleanups go on one exit stack,
so parts close in the reverse order of their building.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from nimbus.clock import SystemClock
from nimbus.config import Settings
from nimbus.node.control import ControlPlane, open_control
from nimbus.node.dataplane import DataPlane, open_dataplane
from nimbus.node.eventbridge import EventBridgeParts, open_eventbridge
from nimbus.node.events import EventParts, open_events
from nimbus.node.hosts import open_placement
from nimbus.node.identity import IdentityParts, open_identity
from nimbus.node.store import StoreParts, open_store


@dataclass(frozen=True, kw_only=True)
class Node:
    """Everything one `nimbus server` process runs."""

    settings: Settings
    store: StoreParts
    control: ControlPlane
    identity: IdentityParts
    data: DataPlane
    events: EventParts
    eventbridge: EventBridgeParts


def subscribe_to_function_changes(
    control: ControlPlane, data: DataPlane, events: EventParts
) -> None:
    """Who reacts when a function's code or configuration changes or it is deleted, in the
    order they must: stale environments first, then settings of a deleted function. Nothing
    changes a function before the node is built (resume_pending runs after this)."""
    functions = control.functions
    functions.on_change(data.invoker.on_function_change)
    functions.on_change(data.concurrency.on_function_change)
    functions.on_change(data.provisioned.on_function_change)
    functions.on_change(control.aliases.on_function_change)
    functions.on_change(events.event_configs.on_function_change)
    functions.on_change(control.code_signing.on_function_change)
    functions.on_change(control.policies.on_function_change)
    functions.on_change(control.recursion.on_function_change)
    functions.on_change(control.function_urls.on_function_change)
    control.aliases.on_delete(control.policies.qualifier_deleted)
    control.aliases.on_delete(control.function_urls.qualifier_deleted)


@asynccontextmanager
async def open_node(settings: Settings) -> AsyncIterator[Node]:
    clock = SystemClock()
    async with AsyncExitStack() as stack:
        store = await open_store(settings, stack, clock=clock)
        placement = await open_placement(
            settings, logs=store.logs, clock=clock, stack=stack, volume=store.volume
        )
        control = await open_control(
            settings, store, runtimes=placement.runnable_runtimes(), clock=clock, stack=stack
        )
        identity = await open_identity(settings, store, control, clock=clock)
        data = await open_dataplane(
            settings,
            store,
            control,
            placement=placement,
            clock=clock,
            stack=stack,
            role_credentials=identity.directory,
        )
        events = await open_events(settings, store, control, data, clock=clock, stack=stack)
        eventbridge = await open_eventbridge(
            settings, store, control, identity, events, clock=clock, stack=stack
        )
        subscribe_to_function_changes(control, data, events)
        await control.functions.resume_pending()
        yield Node(
            settings=settings,
            store=store,
            control=control,
            identity=identity,
            data=data,
            events=events,
            eventbridge=eventbridge,
        )
