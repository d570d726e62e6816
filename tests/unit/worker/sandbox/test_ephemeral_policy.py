"""The pure parts of disk-backed /tmp: ioctl layout, ext4 geometry, stale loop devices."""

from __future__ import annotations

import struct

from nimbus.worker.sandbox import ephemeral_policy as policy


def test_loop_config_matches_the_kernel_layout() -> None:
    # struct loop_config is 304 bytes: fd, block_size, loop_info64 (232), reserved[8].
    raw = policy.loop_config(7, flags=policy.LO_FLAGS_AUTOCLEAR | policy.LO_FLAGS_DIRECT_IO)
    assert len(raw) == 304
    assert struct.unpack_from("=II", raw, 0) == (7, 4096)
    # lo_flags follows 5 u64 and 3 u32 of loop_info64, which starts at byte 8.
    assert struct.unpack_from("=I", raw, 8 + 52)[0] == 4 | 16
    assert raw[8 + 56 :] == bytes(len(raw) - 64)  # no name, no key, nothing reserved


def test_loop_config_truncates_the_name_to_what_the_kernel_keeps() -> None:
    raw = policy.loop_config(3, flags=0, name="x" * 100)
    assert raw[64 : 64 + 64] == b"x" * 63 + b"\0"


def _superblock(blocks: int, free: int, magic: int = 0xEF53) -> bytes:
    data = bytearray(1024)
    struct.pack_into("<I", data, 0x4, blocks)
    struct.pack_into("<I", data, 0xC, free)
    struct.pack_into("<H", data, 0x38, magic)
    return bytes(data)


def test_ext4_counts_reads_the_superblock() -> None:
    counts = policy.ext4_counts(_superblock(131072, 128815))
    assert counts == policy.Ext4Counts(blocks=131072, free_blocks=128815)


def test_ext4_counts_rejects_what_is_not_ext4() -> None:
    assert policy.ext4_counts(_superblock(1, 1, magic=0x1234)) is None
    assert policy.ext4_counts(b"\0" * 10) is None


def test_next_blocks_adds_the_metadata_shortfall_until_free_space_is_the_size() -> None:
    assert policy.target_blocks(512) == 131072
    # mkfs of 512 MB left 128815 blocks free: 2257 short of 512 MB.
    first = policy.next_blocks(512, policy.Ext4Counts(blocks=131072, free_blocks=128815))
    assert first == 131072 + 2257
    # the bigger filesystem has a little more metadata: short by a few blocks again
    second = policy.next_blocks(512, policy.Ext4Counts(blocks=133329, free_blocks=131060))
    assert second == 133329 + 12
    assert policy.next_blocks(512, policy.Ext4Counts(blocks=133341, free_blocks=131072)) is None


def test_mkfs_formats_a_journal_less_ext4_without_reserved_blocks() -> None:
    argv = policy.mkfs_argv("/d/t.img", 133341)
    assert argv[0] == "mkfs.ext4"
    assert argv[-2:] == ["/d/t.img", "133341"]
    assert argv[argv.index("-m") + 1] == "0"
    assert "^has_journal" in argv[argv.index("-O") + 1]
    assert argv[argv.index("-b") + 1] == "4096"


def test_stale_loops_are_those_backed_by_a_dead_hosts_directory() -> None:
    backing = {
        "loop0": "/data/sandboxes/tmp-disks/dead1/#1234 (deleted)",
        "loop1": "/data/sandboxes/tmp-disks/alive/#99 (deleted)",
        "loop2": "/var/lib/snapd/snaps/core.snap",
        "loop3": "/data/sandboxes/tmp-disks/dead10/#5 (deleted)",
        "loop4": "/data/sandboxes/tmp-disks/dead1/x.img",
    }
    dead = ["/data/sandboxes/tmp-disks/dead1"]
    assert policy.stale_loops(backing, dead) == ["loop0", "loop4"]  # not dead10's
    assert policy.stale_loops(backing, []) == []


def test_a_new_disk_must_leave_the_reserve_free_on_the_data_filesystem() -> None:
    mb = 1024 * 1024
    assert policy.disk_room(512, free_bytes=(512 + 1024) * mb, unwritten_bytes=0)
    assert not policy.disk_room(512, free_bytes=(512 + 1024) * mb - 1, unwritten_bytes=0)
    # 10 GiB free: no 10 GiB /tmp
    assert not policy.disk_room(10240, free_bytes=10 * 1024 * mb, unwritten_bytes=0)
    assert policy.disk_room(10240, free_bytes=20 * 1024 * mb, unwritten_bytes=0)
    assert policy.disk_room(512, free_bytes=600 * mb, unwritten_bytes=0, reserve_mb=0)
    assert policy.DISK_RESERVE_MB == 1024


def test_what_live_disks_may_still_write_is_not_free_for_a_new_one() -> None:
    mb = 1024 * 1024
    free = (4 * 512 + 1024) * mb  # room for four 512 MB disks and the reserve
    # Three sparse 512 MB disks in use, nothing written yet: a fourth fits, a fifth not
    # (each would pass a check against free space alone).
    assert policy.disk_room(512, free_bytes=free, unwritten_bytes=3 * 512 * mb, overcommit=1)
    assert not policy.disk_room(512, free_bytes=free, unwritten_bytes=4 * 512 * mb, overcommit=1)
    assert not policy.disk_room(512, free_bytes=free, unwritten_bytes=5000 * mb, overcommit=1)


def test_the_ledger_counts_each_live_disk_until_measured_and_forgets_it_on_release() -> None:
    mb = 1024 * 1024
    ledger = policy.DiskLedger()
    ledger.add(7, 512 * mb)
    ledger.add(8, 1024 * mb)
    assert ledger.unwritten == 1536 * mb and sorted(ledger.images()) == [7, 8]
    ledger.reserve(512 * mb)  # a disk being made counts too
    assert ledger.unwritten == 2048 * mb
    ledger.unreserve(512 * mb)
    # Disk 7 has 100 MB written (st_blocks in 512-byte units); disk 8 is over its size
    # (the image's own extent blocks): it can take nothing more.
    ledger.measured({7: 100 * 2048, 8: 1025 * 2048, 99: 5}, now=10.0)
    assert ledger.unwritten == 412 * mb
    ledger.measured({7: 300 * 2048}, now=11.0)  # written further since
    assert ledger.unwritten == 212 * mb
    ledger.remove(7)
    assert ledger.unwritten == 0 and ledger.images() == [8]
    ledger.remove(7)  # twice, or a pooled disk never added: nothing
    ledger.remove(8)
    assert ledger.unwritten == 0 and ledger.images() == []


def test_the_ledger_measures_again_at_most_once_per_interval() -> None:
    ledger = policy.DiskLedger()
    assert ledger.stale(0.0)  # never measured
    ledger.measured({}, now=100.0)
    assert not ledger.stale(100.0)
    assert not ledger.stale(100.0 + policy.DiskLedger.MEASURE_INTERVAL_S - 0.01)
    assert ledger.stale(100.0 + policy.DiskLedger.MEASURE_INTERVAL_S)


def test_other_disks_count_an_eighth_by_default_but_the_new_one_in_full() -> None:
    mb = 1024 * 1024
    free = (512 + 1024) * mb + 64 * mb
    # 512 MB unwritten elsewhere counts 64 MB: still room; a byte more is not.
    assert policy.disk_room(512, free_bytes=free, unwritten_bytes=512 * mb)
    assert not policy.disk_room(512, free_bytes=free, unwritten_bytes=512 * mb + 8)
    # 200 idle 512 MB disks on 79 GB free (this machine): room for more.
    assert policy.disk_room(512, free_bytes=79 * 1024 * mb, unwritten_bytes=200 * 512 * mb)
