"""What the HTTP handlers can call: built by the composition root, read from app state."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import Request

from nimbus.control.functions import FunctionService
from nimbus.errors import ResourceNotFoundError
from nimbus.model.arn import LATEST
from nimbus.model.function import FunctionConfig
from nimbus.model.invoke import InvokeCall
from nimbus.observability.metrics import Metrics
from nimbus.store.blobs import BlobStore

if TYPE_CHECKING:
    from nimbus.control.aliases import AliasService
    from nimbus.control.concurrency import ConcurrencyService
    from nimbus.control.event_config import EventConfigService
    from nimbus.control.layers import LayerService
    from nimbus.control.provisioned import ProvisionedService
    from nimbus.control.versions import VersionService
    from nimbus.dataplane.invoker import Invoker
    from nimbus.observability.logs import LogStore
    from nimbus.queues.service import QueueService
    from nimbus.queues.topics import TopicService


class EventAcceptor(Protocol):
    async def accept(self, call: InvokeCall) -> str:
        """Durably queue an asynchronous invocation; returns its request id."""


@dataclass(frozen=True, kw_only=True)
class AccountLimit:
    concurrent_executions: int
    unreserved: int


# publish(name, code_sha256, revision_id, description) -> the published version's config
Publisher = Callable[[str, str | None, str | None, str], Awaitable[FunctionConfig]]
VersionDeleter = Callable[[str, str], Awaitable[None]]
AliasResolver = Callable[[str, str], Awaitable[str]]


@dataclass(kw_only=True)
class Services:
    functions: FunctionService
    blobs: BlobStore
    invoker: Invoker | None = None
    events: EventAcceptor | None = None
    event_configs: EventConfigService | None = None  # event-invoke-config API
    queues: QueueService | None = None  # built-in SQS-compatible queues
    topics: TopicService | None = None  # built-in SNS-compatible topics
    metrics: Metrics = field(default_factory=Metrics)
    concurrency: ConcurrencyService | None = None
    provisioned: ProvisionedService | None = None
    logs: LogStore | None = None
    publish: Publisher | None = None
    delete_version: VersionDeleter | None = None
    # alias name -> version, for reads (GetFunction etc.); invoke routes by weights itself.
    alias_version: AliasResolver | None = None
    versions: VersionService | None = None
    aliases: AliasService | None = None
    layers: LayerService | None = None
    reserved_concurrency: Callable[[str], int | None] = lambda _name: None
    account_limit: Callable[[], AccountLimit] = lambda: AccountLimit(
        concurrent_executions=1000, unreserved=1000
    )
    extra: dict[str, Any] | None = None

    @staticmethod
    def of(request: Request) -> Services:
        services: Services = request.app.state.services
        return services

    async def resolve_config(self, name: str, qualifier: str | None) -> FunctionConfig:
        """The configuration a qualifier names: $LATEST, a version number or an alias."""
        if qualifier is None or qualifier == LATEST or qualifier.isdigit():
            return await self.functions.get_version(name, qualifier or LATEST)
        if self.alias_version is None:
            raise ResourceNotFoundError(
                f"Function not found: {self.functions.arns.function(name, qualifier)}"
            )
        return await self.functions.get_version(name, await self.alias_version(name, qualifier))
