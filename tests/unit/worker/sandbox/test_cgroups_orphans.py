"""The pure parts of crash clean-up: host lock files, host directory names, /proc uid lines,
and the uid pool's refusal to hand out a uid some process still runs under."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimbus.errors import ServiceError
from nimbus.worker.sandbox import uid_owners
from nimbus.worker.sandbox.host_lock import HostLock, dead_hosts, host_alive, parse_paths
from nimbus.worker.sandbox.orphans import host_id_of
from nimbus.worker.sandbox.uid_owners import ProcUids, parse_status, uids_in_use
from nimbus.worker.sandbox.uid_pool import UidPool

STATUS = """Name:\tpython3
Umask:\t0022
State:\tS (sleeping)
Tgid:\t4242
Pid:\t4242
PPid:\t1
Uid:\t110003\t110004\t110005\t110006
Gid:\t110003\t110003\t110003\t110003
"""


def uids(real: int, effective: int = -1, saved: int = -1, fs: int = -1) -> ProcUids:
    return ProcUids(real=real, effective=effective, saved=saved, fs=fs, zombie=False)


def test_status_uid_line_gives_all_four_uids() -> None:
    parsed = parse_status(STATUS)
    assert parsed == ProcUids(real=110003, effective=110004, saved=110005, fs=110006, zombie=False)


def test_status_of_a_zombie_is_marked() -> None:
    parsed = parse_status(STATUS.replace("S (sleeping)", "Z (zombie)"))
    assert parsed is not None and parsed.zombie


@pytest.mark.parametrize("line", ["Uid:\t1\t2\t3", "Uid:\ta\tb\tc\td", ""])
def test_status_without_a_sound_uid_line_is_none(line: str) -> None:
    assert parse_status(f"Name:\tx\n{line}\n") is None


def test_any_of_the_four_uids_in_range_counts() -> None:
    # A process that dropped only its effective uid can setresuid back to the saved one.
    assert uids(0, 0, 110005, 0).within(110000, 110010)
    assert uids(0, 0, 0, 110009).within(110000, 110010)
    assert not uids(0, 0, 0, 110010).within(110000, 110010)
    assert not uids(109999, 109999, 109999, 109999).within(110000, 110010)


def test_uids_in_use_names_only_the_candidates_found() -> None:
    found = {10: uids(7, 7, 7, 7), 11: uids(0, 9, 0, 0)}
    assert uids_in_use([7, 8, 9], found) == {7, 9}
    assert uids_in_use([8], found) == set()


def test_evict_reports_processes_that_will_not_die() -> None:
    stuck = {999_999_999: uids(5000, 5000, 5000, 5000)}  # no such pid: kill finds nothing
    assert uid_owners.evict(5000, 5010, wait_s=0.05, scan=lambda low, high: stuck) is False
    assert uid_owners.evict(5000, 5010, wait_s=0.05, scan=lambda low, high: {}) is True


def test_a_block_with_a_survivor_that_will_not_die_is_skipped(tmp_path: Path) -> None:
    def scan(low: int, high: int) -> dict[int, ProcUids]:
        # pid 999999999 does not exist, so it is never killed: it stands for a frozen task
        return {999_999_999: uids(5003)} if low <= 5003 < high else {}

    pool = UidPool(5000, 10, scan=scan, evict_wait_s=0.05)
    pool.claim_block(tmp_path, blocks=2)
    try:
        assert pool.acquire() == 5010  # block 0 (5000-5009) has the survivor
    finally:
        pool.close()


def test_a_uid_released_without_proof_is_checked_before_reuse() -> None:
    running: dict[int, ProcUids] = {}
    pool = UidPool(1000, 2, scan=lambda low, high: dict(running))
    first, second = pool.acquire(), pool.acquire()
    pool.release(first, emptied=False)  # its sandbox had no cgroup to prove it empty
    pool.release(second, emptied=False)
    running[77] = uids(first)  # a survivor still runs under the first uid
    assert pool.acquire() == second
    with pytest.raises(ServiceError, match="No free sandbox uids"):
        pool.acquire()
    del running[77]
    assert pool.acquire() == first


def test_an_emptied_uid_is_reused_first_without_a_scan() -> None:
    def scan(low: int, high: int) -> dict[int, ProcUids]:
        raise AssertionError("no /proc scan for a uid whose cgroup was removed")

    pool = UidPool(1000, 3, scan=scan)
    uid = pool.acquire()
    pool.release(uid)
    assert pool.acquire() == uid


@pytest.mark.parametrize(
    ("name", "host_id"),
    [
        ("nimbus-5ffa7588", "5ffa7588"),
        ("nimbus-0123456789abcdef", "0123456789abcdef"),
        ("nimbus-leaf", None),  # v2: where the server's own processes were moved
        ("nimbus-5FFA7588", None),
        ("nimbus-5ffa", None),
        ("stem-5ffa7588abcd", None),
        ("nimbus-5ffa7588/x", None),
    ],
)
def test_host_directory_names(name: str, host_id: str | None) -> None:
    assert host_id_of(name) == host_id


def test_lock_file_paths_outside_cgroupfs_are_ignored() -> None:
    text = "/sys/fs/cgroup/pids/nimbus-ab12cd34\n/etc\nrelative\n/sys/fs/cgroup/cpu/nimbus-ab"
    assert parse_paths(text) == (
        Path("/sys/fs/cgroup/pids/nimbus-ab12cd34"),
        Path("/sys/fs/cgroup/cpu/nimbus-ab"),
    )


def test_a_held_lock_is_alive_and_a_released_one_is_gone(tmp_path: Path) -> None:
    lock = HostLock.acquire(tmp_path, "ab12cd34")
    lock.record([Path("/sys/fs/cgroup/pids/nimbus-ab12cd34")])
    assert host_alive(tmp_path, "ab12cd34") is True
    with dead_hosts(tmp_path, own="ffffffff") as dead:
        assert dead == []  # alive: never cleaned up after
    assert host_alive(tmp_path, "ab12cd34") is True  # the probe did not steal the lock
    lock.release()
    assert host_alive(tmp_path, "ab12cd34") is None
    assert list(tmp_path.iterdir()) == []


def test_a_lock_nobody_holds_is_a_dead_host_cleaned_up_once(tmp_path: Path) -> None:
    # What a kill -9 leaves: the file, with no holder.
    (tmp_path / "ab12cd34.lock").write_text("/sys/fs/cgroup/pids/nimbus-ab12cd34\n")
    assert host_alive(tmp_path, "ab12cd34") is False
    with dead_hosts(tmp_path, own="ffffffff") as dead:
        assert [(d.host_id, d.paths) for d in dead] == [
            ("ab12cd34", (Path("/sys/fs/cgroup/pids/nimbus-ab12cd34"),))
        ]
        assert host_alive(tmp_path, "ab12cd34") is True  # held while being cleaned up
    assert not (tmp_path / "ab12cd34.lock").exists()
    with dead_hosts(tmp_path, own="ffffffff") as dead:
        assert dead == []


def test_a_host_that_cannot_remove_its_cgroups_leaves_its_lock_file(tmp_path: Path) -> None:
    lock = HostLock.acquire(tmp_path, "ab12cd34")
    lock.release(keep=True)
    assert host_alive(tmp_path, "ab12cd34") is False  # the next host cleans up
