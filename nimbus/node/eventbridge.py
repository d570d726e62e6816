"""Stage 5b: EventBridge — event buses, rules and their targets (loaded from the store), the
router PutEvents and scheduled rules go through, and scheduled rules armed on the one timer.
Built after the events stage (it delivers through accepting, queues and topics, and arms the
events stage's timer) and the identity stage (a Lambda target is invoked only if its
resource-based policy allows ``events.amazonaws.com``: the one authorizer decides)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from nimbus.clock import Clock
from nimbus.config import Settings
from nimbus.events.buses import BusService
from nimbus.events.delivery import TargetDelivery
from nimbus.events.router import EventRouter
from nimbus.events.rule_schedules import RuleSchedules
from nimbus.events.rules import RuleService
from nimbus.node.control import ControlPlane
from nimbus.node.events import EventParts
from nimbus.node.identity import IdentityParts
from nimbus.node.store import StoreParts
from nimbus.store.eventbridge import EventBridgeRepository


@dataclass(frozen=True, kw_only=True)
class EventBridgeParts:
    buses: BusService
    rules: RuleService
    router: EventRouter


async def open_eventbridge(
    settings: Settings,
    store: StoreParts,
    control: ControlPlane,
    identity: IdentityParts,
    events: EventParts,
    *,
    clock: Clock,
    stack: AsyncExitStack,
) -> EventBridgeParts:
    repo = EventBridgeRepository(store.engine)
    stored_buses, stored_rules, stored_targets = await repo.load()
    buses = BusService(repo=repo, clock=clock, region=settings.region, account=settings.account_id)
    await buses.load(stored_buses)
    rules = RuleService(repo=repo, buses=buses, clock=clock)
    rules.load(stored_rules, stored_targets)
    buses.on_delete(rules.bus_deleted)
    delivery = TargetDelivery(
        accept=events.events.accept,
        resolve=control.resolver.config,
        queues=events.queues,
        topics=events.topics,
        authorizer=identity.authorizer,
        arns=control.arns,
        clock=clock,
    )
    stack.push_async_callback(delivery.close)
    router = EventRouter(buses=buses, rules=rules, delivery=delivery, clock=clock)
    schedules = RuleSchedules(timer=events.timer, rules=rules, router=router)
    await schedules.load()
    stack.push_async_callback(schedules.close)  # disarmed before the delivery closes
    return EventBridgeParts(buses=buses, rules=rules, router=router)
