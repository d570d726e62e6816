"""Stage 5: built-in queues and topics, and asynchronous invocation (accepting, its settings,
the poller pool, destinations). Accepting is built before the poller: destinations and topics
accept events themselves, and the two meet only at the in-memory inbox. The settings
(EventConfigService) are built here, after topics, because writing one checks that its
destinations exist — and topics need accepting, which needs the control plane's resolver."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from nimbus.clock import Clock, system_random
from nimbus.config import Settings
from nimbus.control.event_config import EventConfigService
from nimbus.errors import NimbusError
from nimbus.events.destinations import Destinations, KnownDestinations
from nimbus.events.inbox import EventInbox
from nimbus.events.mappings import MappingService
from nimbus.events.policy import RetrySettings
from nimbus.events.poller import EventPoller
from nimbus.events.rabbitmq_brokers import BrokerDirectory, default_config_path
from nimbus.events.rabbitmq_poller import RabbitMqPollers
from nimbus.events.schedule_delivery import ScheduleDelivery
from nimbus.events.schedules import ScheduleService
from nimbus.events.service import EventService
from nimbus.events.sqs_poller import PollerTuning
from nimbus.events.sqs_source import SqsPollers
from nimbus.events.timer import Timer
from nimbus.node.control import ControlPlane
from nimbus.node.dataplane import DataPlane
from nimbus.node.store import StoreParts
from nimbus.queues.service import QueueService
from nimbus.queues.topics import TopicService
from nimbus.store.async_events import AsyncEventRepository
from nimbus.store.event_configs import EventConfigRepository
from nimbus.store.event_source_mappings import MappingRepository
from nimbus.store.queues import QueueRepository
from nimbus.store.schedules import ScheduleRepository
from nimbus.store.timers import TimerRepository
from nimbus.store.topics import TopicRepository

# Events each poller slot may hold in memory (ready or running) before new ones wait in the
# store for a claim.
BACKLOG_PER_SLOT = 4


@dataclass(frozen=True, kw_only=True)
class EventParts:
    queues: QueueService
    topics: TopicService
    events: EventService
    event_configs: EventConfigService
    poller: EventPoller
    mappings: MappingService
    timer: Timer  # the one timer: EventBridge rules' schedules and Scheduler's
    schedules: ScheduleService


async def open_events(
    settings: Settings,
    store: StoreParts,
    control: ControlPlane,
    data: DataPlane,
    *,
    clock: Clock,
    stack: AsyncExitStack,
) -> EventParts:
    queues = QueueService(
        repo=QueueRepository(store.engine),
        commit=store.commit,
        clock=clock,
        endpoint_url=settings.endpoint_url,
        region=settings.region,
        account_id=settings.account_id,
    )
    await queues.load()
    event_repo = AsyncEventRepository(store.engine)
    inbox = EventInbox(
        capacity=max(1, settings.async_concurrency) * BACKLOG_PER_SLOT,
        lease_s=settings.async_claim_lease_s,
    )
    events = EventService(
        repo=event_repo, commit=store.commit, inbox=inbox, resolver=control.resolver, clock=clock
    )
    topics = TopicService(
        repo=TopicRepository(store.engine),
        commit=store.commit,
        queues=queues,
        accept=events.accept,
        clock=clock,
        region=settings.region,
        account_id=settings.account_id,
        endpoint_url=settings.endpoint_url,
    )
    await topics.load()
    event_configs = EventConfigService(
        repo=EventConfigRepository(store.engine),
        resolve=control.resolver.config,
        destinations=KnownDestinations(
            functions=control.resolver, queues=queues, topics=topics, arns=control.arns
        ),
        arns=control.arns,
        clock=clock,
    )
    await event_configs.load()

    async def dead_letter_target(name: str, qualifier: str | None) -> str | None:
        try:
            return (await control.resolver.config(name, qualifier)).dead_letter_target
        except NimbusError:
            return None

    poller = EventPoller(
        repo=event_repo,
        commit=store.commit,
        invoker=data.invoker,
        configs=event_configs,
        reservations=data.counting,
        destinations=Destinations(queues=queues, topics=topics, accept=events.accept),
        dead_letter=dead_letter_target,
        arns=control.arns,
        retry=RetrySettings(
            function_error_delays_s=settings.async_retry_delays_s,
            backoff_initial_s=settings.async_backoff_s[0],
            backoff_max_s=settings.async_backoff_s[-1],
        ),
        clock=clock,
        inbox=inbox,
        concurrency=settings.async_concurrency,
    )
    stack.push_async_callback(poller.close)
    # One SQLite node: claims left in the store belong to this node's previous process.
    await poller.start(release_stale_claims=store.engine.dialect.name == "sqlite")
    # Event source mappings: the service is source-neutral; each kind of source runs its own
    # pollers (SQS queues, RabbitMQ brokers). Enabled mappings resume here, after a restart too.
    brokers = BrokerDirectory(
        brokers=settings.mq_brokers,
        config_path=default_config_path(settings.data_dir, settings.mq_config),
    )
    brokers.check_setting()  # a malformed NIMBUS_MQ_BROKERS stops the start, with its reason
    mappings = MappingService(
        repo=MappingRepository(store.engine),
        resolver=control.resolver,
        sources={
            "sqs": SqsPollers(
                queues=queues,
                invoker=data.invoker,
                clock=clock,
                region=settings.region,
                tuning=PollerTuning(default_ceiling=settings.account_concurrency),
            ),
            "mq": RabbitMqPollers(
                directory=brokers,
                invoker=data.invoker,
                clock=clock,
                region=settings.region,
                account=settings.account_id,
            ),
        },
        arns=control.arns,
        clock=clock,
    )
    stack.push_async_callback(mappings.close)
    await mappings.load()
    # The one timer (events/timer.py) and EventBridge Scheduler on it: schedules are armed
    # as they load and fire once the timer starts; it closes first, before what it calls.
    timer = Timer(fired=TimerRepository(store.engine), clock=clock, random=system_random())
    delivery = ScheduleDelivery(accept=events.accept, queues=queues, topics=topics, clock=clock)
    stack.push_async_callback(delivery.close)
    schedules = ScheduleService(
        repo=ScheduleRepository(store.engine),
        timer=timer,
        delivery=delivery,
        clock=clock,
        region=settings.region,
        account_id=settings.account_id,
    )
    await schedules.load()
    stack.push_async_callback(timer.close)
    timer.start()
    return EventParts(
        queues=queues,
        topics=topics,
        events=events,
        event_configs=event_configs,
        poller=poller,
        mappings=mappings,
        timer=timer,
        schedules=schedules,
    )
