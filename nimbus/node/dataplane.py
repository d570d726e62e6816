"""Stage 4: the data plane — admission (counting), reserved and provisioned concurrency,
assignment of environments, and the invoker."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass

from nimbus.auth.ports import RoleCredentialIssuer
from nimbus.clock import Clock, system_random
from nimbus.config import Settings
from nimbus.control.concurrency import ConcurrencyService
from nimbus.dataplane.assignment import Assignment
from nimbus.dataplane.counting import Counting
from nimbus.dataplane.execution_role import ExecutionRole
from nimbus.dataplane.invoker import Invoker, InvokerSettings
from nimbus.dataplane.placement import Placement
from nimbus.dataplane.provisioned import ProvisionedService
from nimbus.events.loop_guard import LoopGuard
from nimbus.node.control import ControlPlane
from nimbus.node.store import StoreParts
from nimbus.observability.metrics import Metrics
from nimbus.store.concurrency import ProvisionedRepository, ReservationRepository


@dataclass(frozen=True, kw_only=True)
class DataPlane:
    counting: Counting
    concurrency: ConcurrencyService
    assignment: Assignment
    invoker: Invoker
    provisioned: ProvisionedService
    metrics: Metrics


async def open_dataplane(
    settings: Settings,
    store: StoreParts,
    control: ControlPlane,
    *,
    placement: Placement,
    clock: Clock,
    stack: AsyncExitStack,
    role_credentials: RoleCredentialIssuer | None = None,
) -> DataPlane:
    """``role_credentials``: mints each environment's execution-role session (the identity
    stage's issuer); None leaves environments with inert credentials."""
    counting = Counting(
        clock=clock,
        account_limit=settings.account_concurrency,
        scale_limit=settings.scale_limit,
        scale_window_s=settings.scale_window_s,
    )
    concurrency = ConcurrencyService(
        repo=ReservationRepository(store.engine), functions=control.functions, ledger=counting
    )
    await concurrency.start()
    metrics = Metrics()
    assignment = Assignment(
        placement=placement,
        clock=clock,
        keep_alive_s=settings.keep_alive_s,
        on_cold_start=counting.note_environment_start,
        execution_role=(
            ExecutionRole(issuer=role_credentials, ttl_s=settings.role_credentials_ttl_s)
            if role_credentials is not None
            else None
        ),
    )
    assignment.start()
    stack.push_async_callback(assignment.close)
    invoker = Invoker(
        settings=InvokerSettings(
            region=settings.region,
            account_id=settings.account_id,
            endpoint_url=settings.endpoint_url,
        ),
        functions=control.functions,
        resolver=control.resolver,
        layers=control.layers,
        counting=counting,
        assignment=assignment,
        blobs=store.blobs,
        metrics=metrics,
        clock=clock,
        random=system_random(),
        loops=LoopGuard(recursion=control.recursion, metrics=metrics, arns=control.arns),
    )
    provisioned = ProvisionedService(
        repo=ProvisionedRepository(store.engine),
        resolver=control.resolver,
        specs=invoker,
        assignment=assignment,
        counting=counting,
        clock=clock,
    )
    await provisioned.start()
    stack.push_async_callback(provisioned.close)
    return DataPlane(
        counting=counting,
        concurrency=concurrency,
        assignment=assignment,
        invoker=invoker,
        provisioned=provisioned,
        metrics=metrics,
    )
