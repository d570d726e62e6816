"""The pure parts of crash clean-up: host lock files, host directory names, /proc uid lines,
and the uid pool's refusal to hand out a uid some process still runs under, or one the
machine gives to anyone else."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from nimbus.errors import ServiceError
from nimbus.worker.sandbox import orphans
from nimbus.worker.sandbox.host_lock import (
    HostLock,
    UnsafeLockDir,
    dead_hosts,
    host_alive,
    parse_paths,
    private_dir,
    unsafe_reason,
    valid_host_id,
)
from nimbus.worker.sandbox.orphans import host_id_of, kill_checked, member_of
from nimbus.worker.sandbox.uid_owners import ProcUids, parse_status, uids_in_use
from nimbus.worker.sandbox.uid_pool import (
    DEFAULT_BASE,
    UidPool,
    account_ids,
    overlaps,
    subid_ranges,
)

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


def test_a_block_with_a_live_process_is_skipped_not_killed(tmp_path: Path) -> None:
    me = os.getpid()  # were it signalled, this test would die with it

    def scan(low: int, high: int) -> dict[int, ProcUids]:
        return {me: uids(5003)} if low <= 5003 < high else {}

    pool = UidPool(5000, 10, scan=scan, etc=tmp_path / "etc")
    pool.claim_block(tmp_path / "locks", blocks=2)
    try:
        assert pool.acquire() == 5010  # block 0 (5000-5009) has a process: left alone
    finally:
        pool.close()


def test_a_block_overlapping_the_machines_ids_is_skipped(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "subuid").write_text("alice:5008:4\n")  # a rootless container's range: 5008-5011
    (etc / "group").write_text("staff:x:5025:\n")
    pool = UidPool(5000, 10, scan=lambda low, high: {}, etc=etc)
    pool.claim_block(tmp_path / "locks", blocks=4)
    try:
        assert pool.acquire() == 5030  # 5000-5019 (subuid 5008-5011), 5020-5029 (a gid)
    finally:
        pool.close()
    with pytest.raises(ServiceError, match="No free block"):
        UidPool(5000, 10, scan=lambda low, high: {}, etc=etc).claim_block(
            tmp_path / "locks", blocks=3
        )


def test_subid_and_account_files_parse_to_id_ranges() -> None:
    assert subid_ranges("root:100000:65536\n# comment\nbob:165536:x\n\nbob:200000:10") == [
        range(100000, 165536),
        range(200000, 200010),
    ]
    assert account_ids("root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/x\nbad\n") == [
        range(0, 1),
        range(65534, 65535),
    ]


def test_overlap_of_id_ranges() -> None:
    assert overlaps(range(10, 20), [range(19, 30)])
    assert overlaps(range(10, 20), [range(0, 11)])
    assert not overlaps(range(10, 20), [range(20, 30), range(0, 10), range(15, 15)])


def test_the_default_base_is_clear_of_subuid_ranges_and_fits_a_uid() -> None:
    top = DEFAULT_BASE + 64 * 10_000
    assert DEFAULT_BASE > 2**31 and top < 2**32 - 2
    assert not overlaps(range(DEFAULT_BASE, top), [range(100_000, 100_000 + 64 * 65_536)])


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


V1_CGROUP = """12:freezer:/user.slice/nimbus-ab12cd34/env1
4:cpu,cpuacct:/user.slice/nimbus-ab12cd34/env1
1:name=systemd:/user.slice
0::/user.slice
"""


def test_cgroup_membership_of_a_v1_process() -> None:
    root = Path("/sys/fs/cgroup")
    assert member_of(V1_CGROUP, root / "freezer/user.slice/nimbus-ab12cd34")
    assert member_of(V1_CGROUP, root / "cpu/user.slice/nimbus-ab12cd34/env1")  # cpu -> cpu,cpuacct
    assert member_of(V1_CGROUP, root / "cpu,cpuacct/user.slice/nimbus-ab12cd34")
    assert not member_of(V1_CGROUP, root / "pids/user.slice/nimbus-ab12cd34")
    assert not member_of(V1_CGROUP, root / "freezer/user.slice/nimbus-ab12cd3")


def test_cgroup_membership_of_a_v2_process() -> None:
    text = "0::/system.slice/nimbus-ab12cd34/env1\n"
    assert member_of(text, Path("/sys/fs/cgroup/system.slice/nimbus-ab12cd34"))
    assert not member_of(text, Path("/sys/fs/cgroup/system.slice/nimbus-ab12cd35"))
    assert not member_of("", Path("/sys/fs/cgroup"))  # a process already gone


DIR = 0o040000
LINK = 0o120000


@pytest.mark.parametrize(
    ("mode", "uid", "leaf", "problem"),
    [
        (DIR | 0o700, 0, True, None),
        (DIR | 0o755, 0, True, None),
        (LINK | 0o777, 0, True, "not a directory"),
        (DIR | 0o700, 1000, True, "owned by uid 1000"),
        (DIR | 0o1777, 0, True, "writable by others"),  # a /run/lock-like leaf
        (DIR | 0o770, 0, True, "writable by others"),
        (DIR | 0o1777, 0, False, None),  # a sticky parent (/tmp): our dir cannot be renamed
        (DIR | 0o777, 0, False, "writable by others"),
        (DIR | 0o755, 1000, False, "owned by uid 1000"),
    ],
)
def test_which_lock_directories_are_unsafe(
    mode: int, uid: int, leaf: bool, problem: str | None
) -> None:
    reason = unsafe_reason(mode, uid, euid=0, leaf=leaf)
    assert (reason is None) if problem is None else (reason is not None and problem in reason)


def test_a_private_dir_is_made_0700_and_a_planted_one_refused(tmp_path: Path) -> None:
    made = private_dir(tmp_path / "run" / "hosts")
    assert made.stat().st_mode & 0o777 == 0o700
    (tmp_path / "open").mkdir()
    (tmp_path / "open").chmod(0o777)
    with pytest.raises(UnsafeLockDir, match="writable by others"):
        private_dir(tmp_path / "open")
    (tmp_path / "link").symlink_to(made)
    with pytest.raises(UnsafeLockDir, match="not a directory"):
        private_dir(tmp_path / "link")


def test_a_private_dir_under_a_symlinked_data_directory_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "disk").mkdir(mode=0o700)
    (tmp_path / "data").symlink_to(tmp_path / "disk")  # a data directory on another disk
    made = private_dir(tmp_path / "data" / "hosts")
    assert (tmp_path / "disk" / "hosts").is_dir() and made == tmp_path / "data" / "hosts"


def test_a_refused_cgroup_kill_falls_back_to_killing_each_pid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    top = tmp_path / "nimbus-ab12cd34"
    (top / "cgroup.kill").mkdir(parents=True)  # exists, but cannot be written
    rounds: list[list[Path]] = []

    def kill_in(dirs: list[Path], **_: object) -> set[int]:
        rounds.append(dirs)
        return set()

    monkeypatch.setattr(orphans, "kill_in", kill_in)
    orphans.reap_host([top], wait_s=0)
    assert rounds and top in rounds[0]  # the tree was gone through pid by pid


def test_lock_file_names_that_are_no_host_id_are_never_dead_hosts(tmp_path: Path) -> None:
    assert valid_host_id("ab12cd34") and not valid_host_id("..") and not valid_host_id("AB12CD34")
    for name in ("...lock", "x/../etc.lock", "ab12.lock", "ab12cd34ab12cd34ab12cd34ab12cd34a.lock"):
        (tmp_path / name.replace("/", "_")).write_text("")
    (tmp_path / "target").mkdir()
    (tmp_path / "cd34ab12.lock").symlink_to(tmp_path / "target")  # planted: not followed
    with dead_hosts(tmp_path, own="ffffffff") as dead:
        assert dead == []


def test_a_pid_outside_the_tree_is_never_signalled() -> None:
    # What a recycled pid looks like: a live process that is not in the tree being emptied.
    other = subprocess.Popen(["sleep", "30"])
    try:
        assert not kill_checked(other.pid, (Path("/sys/fs/cgroup/pids/nimbus-ab12cd34"),))
        assert other.poll() is None
        assert not kill_checked(2**22 + 1, (Path("/sys/fs/cgroup"),))  # no such pid
    finally:
        other.kill()
        other.wait(timeout=5)
