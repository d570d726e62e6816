"""Which code blobs the collector deletes (pure rules, with literals) and how the blob store
deletes them (on a real directory)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from nimbus.config import Settings
from nimbus.node.store import environment_lifetime
from nimbus.store.blob_gc import (
    EnvironmentLifetime,
    LayerVersionRow,
    Sweep,
    layer_key,
    longest_timeouts,
    referenced,
    remember_timeouts,
    sweep,
)
from nimbus.store.blobs import BlobStore, StoredBlob
from nimbus.testing.archive import make_zip

LAYER_ARN = "arn:aws:lambda:us-east-1:000000000000:layer:shared:3"


def test_layer_key_reads_name_and_version_of_a_layer_version_arn() -> None:
    assert layer_key(LAYER_ARN) == ("shared", 3)
    assert layer_key("arn:aws:lambda:us-east-1:000000000000:function:f") is None
    assert layer_key("arn:aws:lambda:us-east-1:000000000000:layer:shared:x") is None


def test_function_versions_and_live_layers_reference_their_blobs() -> None:
    configs: list[dict[str, object]] = [
        {"code_blob": "a"},
        {"code_blob": "b", "layers": [{"arn": LAYER_ARN}]},
    ]
    layers = [
        LayerVersionRow(name="live", version=1, blob="c", deleted=False),
        LayerVersionRow(name="shared", version=3, blob="d", deleted=True),  # still used
        LayerVersionRow(name="gone", version=1, blob="e", deleted=True),  # used by nobody
    ]
    assert referenced(configs, layers) == frozenset({"a", "b", "c", "d"})


def test_a_config_without_layers_or_with_junk_references_only_its_code() -> None:
    assert referenced([{"code_blob": "a", "layers": None}, {"layers": [3]}], []) == {"a"}


def blob(key: str, modified_s: float) -> StoredBlob:
    return StoredBlob(key=key, modified_s=modified_s, size=1)


def test_sweep_deletes_only_what_has_been_unreferenced_and_old_for_the_grace() -> None:
    stored = [blob("ref", 0), blob("old", 0), blob("young", 950), blob("seen", 0)]
    result = sweep(
        stored,
        frozenset({"ref"}),
        {"seen": 500.0},
        now_s=1000.0,
        grace_s=100.0,
        hold_s={},
        unknown_hold_s=0.0,
    )
    # "old" is first seen unreferenced now: it waits a grace from now; "seen" was seen at
    # 500; "young" was stored 50 s ago.
    assert result == Sweep(delete=frozenset({"seen"}), watching={"old": 1000.0, "young": 1000.0})


def test_sweep_forgets_a_blob_that_is_referenced_again() -> None:
    result = sweep(
        [blob("k", 0)],
        frozenset({"k"}),
        {"k": 1.0},
        now_s=1000.0,
        grace_s=10.0,
        hold_s={},
        unknown_hold_s=0.0,
    )
    assert result == Sweep(delete=frozenset(), watching={})


def test_sweep_with_no_grace_deletes_unreferenced_blobs_at_once() -> None:
    result = sweep(
        [blob("k", 999)], frozenset(), {}, now_s=1000.0, grace_s=0.0, hold_s={}, unknown_hold_s=0.0
    )
    assert result.delete == {"k"}


def test_sweep_keeps_a_blob_while_an_environment_may_still_run_it() -> None:
    # Unreferenced since 0 with no grace, but environments of "short" may live 100 s and of
    # "long" 2,000 s after that; "unseen" was never seen in use: the longest hold, 1,600 s.
    stored = [blob("short", 0), blob("long", 0), blob("unseen", 0)]
    watching = {"short": 0.0, "long": 0.0, "unseen": 0.0}
    holds = {"short": 100.0, "long": 2000.0}
    early = sweep(
        stored, frozenset(), watching, now_s=99.0, grace_s=0.0, hold_s=holds, unknown_hold_s=1600.0
    )
    assert early.delete == frozenset()
    later = sweep(
        stored,
        frozenset(),
        watching,
        now_s=1600.0,
        grace_s=0.0,
        hold_s=holds,
        unknown_hold_s=1600.0,
    )
    assert later.delete == {"short", "unseen"} and later.watching == {"long": 0.0}


def test_an_environment_outlives_its_code_by_init_timeout_keep_alive_and_slack() -> None:
    lifetime = EnvironmentLifetime(
        keep_alive_s=600.0, reap_slack_s=6.0, init_timeout_s=10.0, longest_timeout_s=900.0
    )
    assert lifetime.after_unreferenced_s(3.0) == 10.0 + 3.0 + 600.0 + 6.0
    assert lifetime.after_unreferenced_s(None) == 10.0 + 900.0 + 600.0 + 6.0


def test_a_keep_alive_beyond_the_grace_still_protects_live_environments() -> None:
    # The review's case: NIMBUS_KEEP_ALIVE=3600 with the default 900 s grace.
    lifetime = environment_lifetime(Settings(keep_alive_s=3600.0))
    assert lifetime.after_unreferenced_s(None) >= 3600.0 + 900.0
    assert lifetime.after_unreferenced_s(60.0) >= 3600.0 + 60.0
    assert environment_lifetime(Settings()).after_unreferenced_s(None) >= 600.0 + 900.0


def test_longest_timeouts_cover_code_and_layers_per_blob() -> None:
    configs: list[dict[str, object]] = [
        {"code_blob": "a", "timeout": 3},
        {"code_blob": "a", "timeout": 60, "layers": [{"arn": LAYER_ARN}]},
        {"code_blob": "b"},  # no timeout stored: assume the longest
    ]
    layers = [LayerVersionRow(name="shared", version=3, blob="d", deleted=False)]
    assert longest_timeouts(configs, layers) == {"a": 60.0, "d": 60.0, "b": 900.0}


def test_remembered_timeouts_only_grow_and_go_with_their_blob() -> None:
    previous = {"a": 60.0, "gone": 5.0, "dropped": 10.0}
    merged = remember_timeouts(previous, {"a": 3.0, "new": 7.0}, ["a", "new", "dropped"])
    assert merged == {"a": 60.0, "new": 7.0, "dropped": 10.0}


def a_zip() -> bytes:
    # The same bytes every call (make_zip's entries carry a fixed date; zipfile's writestr of a
    # name stamps the current time, so two calls a second apart made two different blobs).
    return make_zip({"app.py": "def handler(e, c):\n    return e\n"})


async def test_remove_deletes_the_blob_and_its_extraction(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    key = store.put(a_zip())
    extracted = await store.extracted(key)
    assert (extracted / "app.py").exists()
    [stored] = store.inventory()
    assert stored.key == key and stored.size == len(a_zip())
    assert store.remove(key, unless_stored_after=time.time() + 1)
    assert not store.exists(key) and not extracted.exists()
    assert store.inventory() == []
    again = await store.extracted(store.put(a_zip()))  # stored again: extracted afresh
    assert (again / "app.py").exists()


async def test_storing_the_same_content_again_protects_it_from_removal(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    key = store.put(a_zip())
    past = time.time() - 3600
    os.utime(store.path(key), (past, past))
    before = time.time() - 1
    assert store.put(a_zip()) == key  # what a concurrent CreateFunction of the same zip does
    assert not store.remove(key, unless_stored_after=before)
    assert store.exists(key)


async def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    stale = tmp_path / "extracted" / ".tmp-crashed"
    stale.mkdir()
    (stale / "f").write_text("x")
    fresh = tmp_path / "extracted" / ".tmp-running"
    fresh.mkdir()
    past = time.time() - 7200
    os.utime(stale, (past, past))
    assert store.remove_stale_temps(older_than=time.time() - 3600) == 1
    assert not stale.exists() and fresh.exists()


async def test_concurrent_extractions_share_one_lock_and_leave_none_behind(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    key = store.put(a_zip())
    first, second = await asyncio.gather(store.extracted(key), store.extracted(key))
    assert first == second and (first / "app.py").exists()
    # The lock bookkeeping lives on the event loop and is dropped once nobody waits: remove()
    # (a worker thread) never touches it.
    assert store._locks == {}
