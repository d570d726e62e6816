"""Each new environment gets its own session of its function's role, named after the
function; environments are retired before their credentials lapse (manual clock)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from nimbus.dataplane.assignment import Assignment
from nimbus.dataplane.credential_policy import MARGIN_S
from nimbus.dataplane.execution_role import ExecutionRole
from nimbus.dataplane.placement import HostSlot, Placement
from nimbus.errors import ServiceError
from nimbus.model.invocation import EnvironmentSpec
from nimbus.testing.clock import ManualClock
from nimbus.testing.role_issuer import FakeRoleIssuer
from nimbus.testing.worker import FakeWorkerHost

ROLE = "arn:aws:iam::000000000000:role/app-role"
TTL = 3600.0


def spec(name: str = "orders", timeout: int = 60) -> EnvironmentSpec:
    return EnvironmentSpec(
        function_name=name,
        function_version="$LATEST",
        function_arn=f"arn:aws:lambda:us-east-1:000000000000:function:{name}",
        runtime="python3.11",
        handler="app.handler",
        code_dir=Path("/nonexistent"),
        timeout_s=timeout,
        role_arn=ROLE,
        config_key=f"{name}:$LATEST:r1",
    )


def build() -> tuple[Assignment, FakeWorkerHost, ManualClock, FakeRoleIssuer]:
    host = FakeWorkerHost()
    clock = ManualClock()
    issuer = FakeRoleIssuer(clock=clock)
    assignment = Assignment(
        placement=Placement([HostSlot(id="h", host=host, budget_mb=4096)]),
        clock=clock,
        keep_alive_s=10 * TTL,  # only credentials retire environments in these tests
        execution_role=ExecutionRole(issuer=issuer, ttl_s=TTL),
    )
    return assignment, host, clock, issuer


async def test_a_cold_start_gets_a_session_of_the_role_named_after_the_function() -> None:
    assignment, host, clock, issuer = build()
    async with assignment.acquire(spec("orders")) as lease:
        creds = lease.env.spec.credentials
        assert creds is not None
        assert creds.access_key_id == "ASIAFAKE000000000001"
        assert creds.expiration == clock.now() + TTL
    assert [(c.role_arn, c.session_name, c.duration_s) for c in issuer.calls] == [
        (ROLE, "orders", TTL)
    ]
    assert host.created[0].spec.credentials == creds


async def test_environments_get_distinct_sessions_and_warm_reuse_mints_nothing() -> None:
    assignment, _host, _clock, issuer = build()
    async with assignment.acquire(spec()) as a, assignment.acquire(spec()) as b:
        assert a.env.spec.credentials != b.env.spec.credentials
    async with assignment.acquire(spec()) as warm:
        assert not warm.cold
    assert len(issuer.calls) == 2


async def test_an_idle_environment_near_expiry_is_not_given_the_invocation() -> None:
    assignment, host, clock, issuer = build()
    async with assignment.acquire(spec(timeout=60)):
        pass
    # Still more than timeout + margin left: reused.
    clock.advance(TTL - 60 - MARGIN_S - 1)
    async with assignment.acquire(spec(timeout=60)) as lease:
        assert not lease.cold
    # Now the credentials could lapse during an invocation: a new environment serves.
    clock.advance(1)
    async with assignment.acquire(spec(timeout=60)) as lease:
        assert lease.cold
        assert lease.env is host.created[1]
    await asyncio.sleep(0)
    assert host.created[0].destroyed
    assert len(issuer.calls) == 2


async def test_a_busy_environment_whose_credentials_aged_is_retired_when_given_back() -> None:
    assignment, host, clock, _issuer = build()
    async with assignment.acquire(spec(timeout=60)):
        clock.advance(TTL - 60)  # a long invocation (or a stalled one) ends late
    await asyncio.sleep(0)
    assert host.created[0].destroyed
    async with assignment.acquire(spec(timeout=60)) as lease:
        assert lease.cold


async def test_the_reaper_retires_idle_provisioned_environments_near_expiry() -> None:
    assignment, host, clock, _issuer = build()
    await assignment.add_provisioned(spec(timeout=900), owner="orders:live")
    assert assignment.provisioned_counts("orders:live") == (1, 1)
    clock.advance(TTL - 900 - MARGIN_S - 1)
    assignment.reap()
    assert assignment.provisioned_counts("orders:live") == (1, 1)
    clock.advance(1)
    assignment.reap()
    await asyncio.sleep(0)
    # Gone, so the provisioned reconciler (which refills to the requested count) replaces it.
    assert host.created[0].destroyed
    assert assignment.provisioned_counts("orders:live") == (0, 0)


async def test_a_failing_issuer_fails_the_cold_start_with_a_service_error() -> None:
    assignment, host, _clock, issuer = build()
    issuer.fail = True
    with pytest.raises(ServiceError, match="execution role of orders"):
        async with assignment.acquire(spec()):
            pass
    assert host.created == []


def test_credentials_shorter_than_sts_allows_are_refused() -> None:
    with pytest.raises(ValueError, match="900"):
        ExecutionRole(issuer=FakeRoleIssuer(clock=ManualClock()), ttl_s=60)
