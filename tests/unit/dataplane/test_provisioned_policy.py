from __future__ import annotations

from nimbus.dataplane import provisioned_policy as policy


def test_request_within_reservation() -> None:
    assert (
        policy.check_request(name="f", requested=3, others=2, reserved=5, unreserved_limit=1000)
        is None
    )
    message = policy.check_request(
        name="f", requested=4, others=2, reserved=5, unreserved_limit=1000
    )
    assert message is not None and "reservedConcurrentExecution [5]" in message


def test_request_without_reservation_keeps_100_unreserved() -> None:
    assert (
        policy.check_request(
            name="f", requested=900, others=0, reserved=None, unreserved_limit=1000
        )
        is None
    )
    message = policy.check_request(
        name="f", requested=901, others=0, reserved=None, unreserved_limit=1000
    )
    assert message is not None and "unreserved concurrency" in message


def test_request_of_zero_is_refused() -> None:
    assert policy.check_request(
        name="f", requested=0, others=0, reserved=None, unreserved_limit=1000
    ) == ("ProvisionedConcurrentExecutions must be at least 1.")


def test_status() -> None:
    assert policy.status(requested=2, allocated=1, failed=False) == "IN_PROGRESS"
    assert policy.status(requested=2, allocated=2, failed=False) == "READY"
    assert policy.status(requested=2, allocated=2, failed=True) == "FAILED"


def test_fill_in_bounded_batches_and_retire_the_surplus() -> None:
    assert policy.fill_batch(requested=20, allocated=0) == policy.FILL_BATCH
    assert policy.fill_batch(requested=20, allocated=17) == 3
    assert policy.fill_batch(requested=2, allocated=3) == 0
    assert policy.surplus(requested=2, allocated=5) == 3
    assert policy.surplus(requested=5, allocated=2) == 0
