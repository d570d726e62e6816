from __future__ import annotations

import pytest

from nimbus.dataplane import counting_policy as policy
from nimbus.dataplane.counting import Counting
from nimbus.errors import TooManyRequestsError
from nimbus.testing.clock import ManualClock


def snap(**kw: int | None) -> policy.Snapshot:
    values: dict[str, int | None] = {
        "account_limit": 1000,
        "reserved_total": 0,
        "unreserved_in_flight": 0,
        "function_reserved": None,
        "function_in_flight": 0,
    }
    values.update(kw)
    return policy.Snapshot(**values)  # type: ignore[arg-type]


def test_reserved_zero_throttles_everything() -> None:
    decision = policy.admit(snap(function_reserved=0, reserved_total=0))
    assert not decision.admitted
    assert decision.reason == policy.RESERVED_LIMIT


def test_reserved_n_allows_exactly_n() -> None:
    assert policy.admit(snap(function_reserved=2, reserved_total=2, function_in_flight=1)).admitted
    blocked = policy.admit(snap(function_reserved=2, reserved_total=2, function_in_flight=2))
    assert blocked.reason == policy.RESERVED_LIMIT


def test_unreserved_pool_is_what_reservations_leave() -> None:
    assert policy.admit(snap(reserved_total=900, unreserved_in_flight=99)).admitted
    blocked = policy.admit(snap(reserved_total=900, unreserved_in_flight=100))
    assert blocked.reason == policy.ACCOUNT_LIMIT


def test_reservation_must_leave_100_unreserved() -> None:
    assert (
        policy.check_reservation(account_limit=1000, other_reserved_total=0, requested=900) is None
    )
    assert policy.check_reservation(account_limit=1000, other_reserved_total=0, requested=901)
    assert policy.check_reservation(account_limit=1000, other_reserved_total=800, requested=101)
    assert policy.check_reservation(account_limit=1000, other_reserved_total=0, requested=-1)


def test_scaling_window() -> None:
    assert policy.scaling_allows([1.0, 2.0], 5.0, limit=3, window_s=10)
    assert not policy.scaling_allows([1.0, 2.0, 3.0], 5.0, limit=3, window_s=10)
    assert policy.scaling_allows([1.0, 2.0, 3.0], 11.5, limit=3, window_s=10)


async def test_lease_counts_and_releases() -> None:
    counting = Counting(clock=ManualClock(), account_limit=150)
    counting.set_reservation("r", 1)
    async with counting.lease("r"):
        assert counting.usage("r").in_flight == 1
        with pytest.raises(TooManyRequestsError) as exc:
            async with counting.lease("r"):
                pass
        assert exc.value.fields["Reason"] == policy.RESERVED_LIMIT
    assert counting.usage("r").in_flight == 0
    assert counting.usage("r").peak == 1


async def test_account_limit_applies_to_unreserved_functions() -> None:
    counting = Counting(clock=ManualClock(), account_limit=2)
    async with counting.lease("a"), counting.lease("b"):
        with pytest.raises(TooManyRequestsError) as exc:
            async with counting.lease("c"):
                pass
        assert exc.value.fields["Reason"] == policy.ACCOUNT_LIMIT
    async with counting.lease("c"):
        assert counting.usage().in_flight == 1


async def test_reservation_change_during_lease_keeps_counts_consistent() -> None:
    counting = Counting(clock=ManualClock(), account_limit=1000)
    async with counting.lease("f"):
        counting.set_reservation("f", 5)
    counting.set_reservation("f", None)
    # Everything was given back: the whole unreserved pool is free again.
    for i in range(1000):
        await counting.lease(f"g{i}").__aenter__()
    with pytest.raises(TooManyRequestsError):
        await counting.lease("one-too-many").__aenter__()


def test_scaling_rate_throttles_new_environments() -> None:
    clock = ManualClock()
    counting = Counting(clock=clock, account_limit=1000, scale_limit=2, scale_window_s=10)
    counting.note_environment_start("f")
    counting.note_environment_start("f")
    with pytest.raises(TooManyRequestsError) as exc:
        counting.note_environment_start("f")
    assert exc.value.fields["Reason"] == policy.SCALING_RATE
    clock.advance(10)
    counting.note_environment_start("f")
