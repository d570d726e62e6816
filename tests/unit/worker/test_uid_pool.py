from __future__ import annotations

from pathlib import Path

import pytest

from nimbus.errors import ServiceError
from nimbus.worker.sandbox.uid_pool import UidPool


def test_hands_out_distinct_uids_and_reuses_released_ones() -> None:
    pool = UidPool(1000, 3)
    uids = [pool.acquire() for _ in range(3)]
    assert uids == [1000, 1001, 1002]
    with pytest.raises(ServiceError, match="No free sandbox uids"):
        pool.acquire()
    pool.release(1001)
    assert pool.acquire() == 1001


def test_pools_sharing_a_machine_claim_separate_blocks(tmp_path: Path) -> None:
    first, second = UidPool(5000, 10), UidPool(5000, 10)
    first.claim_block(tmp_path, blocks=2)
    second.claim_block(tmp_path, blocks=2)
    try:
        assert first.acquire() == 5000 and second.acquire() == 5010
        third = UidPool(5000, 10)
        with pytest.raises(ServiceError, match="No free block"):
            third.claim_block(tmp_path, blocks=2)
    finally:
        first.close()
        second.close()
    reclaimed = UidPool(5000, 10)
    reclaimed.claim_block(tmp_path, blocks=2)  # closing gave the first block back
    try:
        assert reclaimed.acquire() == 5000
    finally:
        reclaimed.close()
