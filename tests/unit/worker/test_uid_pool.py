from __future__ import annotations

from pathlib import Path

import pytest

from nimbus.errors import ServiceError
from nimbus.worker.sandbox.uid_owners import ProcUids
from nimbus.worker.sandbox.uid_pool import UidPool

ETC = Path("/nonexistent-etc")  # no passwd, group, subuid or subgid: every id is free


def nobody(low: int, high: int) -> dict[int, ProcUids]:
    """No process runs under these uids (a real scan would kill this machine's users')."""
    return {}


def test_hands_out_distinct_uids_and_reuses_released_ones() -> None:
    pool = UidPool(1000, 3)
    uids = [pool.acquire() for _ in range(3)]
    assert uids == [1000, 1001, 1002]
    with pytest.raises(ServiceError, match="No free sandbox uids"):
        pool.acquire()
    pool.release(1001)
    assert pool.acquire() == 1001


def test_pools_sharing_a_machine_claim_separate_blocks(tmp_path: Path) -> None:
    first, second = UidPool(5000, 10, scan=nobody, etc=ETC), UidPool(5000, 10, scan=nobody, etc=ETC)
    first.claim_block(tmp_path, blocks=2)
    second.claim_block(tmp_path, blocks=2)
    try:
        assert first.acquire() == 5000 and second.acquire() == 5010
        third = UidPool(5000, 10, scan=nobody, etc=ETC)
        with pytest.raises(ServiceError, match="No free block"):
            third.claim_block(tmp_path, blocks=2)
    finally:
        first.close()
        second.close()
    reclaimed = UidPool(5000, 10, scan=nobody, etc=ETC)
    reclaimed.claim_block(tmp_path, blocks=2)  # closing gave the first block back
    try:
        assert reclaimed.acquire() == 5000
    finally:
        reclaimed.close()


def test_pools_with_other_bases_never_share_a_uid(tmp_path: Path) -> None:
    # A host built with another uid_base (tests use 160,000) must not take uids a default
    # host's block holds: it would kill that host's sandboxes as leftovers.
    first = UidPool(5000, 10, scan=nobody, etc=ETC)
    first.claim_block(tmp_path, blocks=1)
    try:
        overlapping = UidPool(5005, 10, scan=nobody, etc=ETC)
        with pytest.raises(ServiceError, match="No free block"):
            overlapping.claim_block(tmp_path, blocks=1)
        beside = UidPool(5005, 10, scan=nobody, etc=ETC)
        beside.claim_block(tmp_path, blocks=2)  # its second block, 5015-5024, is free
        try:
            assert beside.acquire() == 5015
        finally:
            beside.close()
    finally:
        first.close()
