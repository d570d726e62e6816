"""Leak 7, bounded disk: a function's log output per invocation is capped (truncated with one
marker line), and code blobs and their extractions go once nothing references them and no
environment can still be running them."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nimbus.worker.log_pipe import marker
from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer, make_zip

LOG_LIMIT = 1024 * 1024
# A blob is kept for as long as an environment may still run it once unreferenced: Init
# (NIMBUS_INIT_TIMEOUT), the function's Timeout, the keep-alive and the reaper's slack
# (a quarter of the keep-alive, plus 1 s). Kept short here so that collection is quick.
KEEP_ALIVE_S = 0.5
INIT_TIMEOUT_S = 2.0
TIMEOUT_S = 1
HOLD_S = INIT_TIMEOUT_S + TIMEOUT_S + KEEP_ALIVE_S + KEEP_ALIVE_S / 4 + 1.0

FLOOD = """
import os, sys
def handler(event, context):
    line = b"x" * 1023 + b"\\n"
    block = line * 1024  # 1 MiB
    for _ in range(event["mb"]):
        os.write(1, block)
    return "done"
"""

ECHO = "def handler(event, context):\n    return event\n"


@pytest.fixture(scope="module")
def disk_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NimbusServer]:
    with NimbusServer(
        data_dir=tmp_path_factory.mktemp("nimbus-disk") / "data",
        env={
            "NIMBUS_LOG_LIMIT_BYTES": str(LOG_LIMIT),
            "NIMBUS_CODE_GC_GRACE": "0",  # no grace beyond what environments need (HOLD_S)
            "NIMBUS_CODE_GC_INTERVAL": "0.1",
            "NIMBUS_KEEP_ALIVE": str(KEEP_ALIVE_S),
            "NIMBUS_INIT_TIMEOUT": str(INIT_TIMEOUT_S),
        },
    ) as instance:
        yield instance


@pytest.fixture(scope="module")
def lam(disk_server: NimbusServer) -> Any:
    return disk_server.client("lambda")


def database_bytes(data_dir: Path) -> int:
    """The database's size with its write-ahead log folded in (as the server's own
    checkpoints do): what the rows really take."""
    with sqlite3.connect(data_dir / "nimbus.db", timeout=10) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return (data_dir / "nimbus.db").stat().st_size


def function_log(server: NimbusServer, name: str) -> list[str]:
    messages: list[str] = []
    after = 0
    with server.http() as http:
        for _ in range(100):
            events = http.get(
                f"/_nimbus/logs/{name}", params={"after": after, "limit": 10_000}
            ).json()["events"]
            if not events:
                return messages
            messages += [e["message"] for e in events]
            after = events[-1]["id"]
    return messages


def logged_invocations(server: NimbusServer, name: str, count: int) -> list[str]:
    """The function's log once ``count`` invocations have their REPORT line stored (the log
    store flushes in the background; REPORT is each invocation's last line)."""
    deadline = time.monotonic() + 10
    while True:
        messages = function_log(server, name)
        if sum(m.startswith("REPORT RequestId") for m in messages) >= count:
            return messages
        assert time.monotonic() < deadline, f"{count} REPORT lines never stored: {messages[-5:]}"
        time.sleep(0.05)


def test_100_mb_of_stdout_grows_the_database_by_at_most_the_cap(
    disk_server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, FLOOD, Timeout=60, MemorySize=512)
    call(lam, fname, {"mb": 0})  # the cold start's own rows are not the flood's
    logged_invocations(disk_server, fname, 1)
    before = database_bytes(disk_server.data_dir)
    started = time.monotonic()
    response, payload = call(lam, fname, {"mb": 100})
    assert payload == "done" and "FunctionError" not in response
    assert time.monotonic() - started < 30
    messages = logged_invocations(disk_server, fname, 2)
    grown = database_bytes(disk_server.data_dir) - before
    print(f"100 MB of stdout: database +{grown} bytes, cap {LOG_LIMIT}")  # shown with -s
    # The cap, plus SQLite's per-row overhead (~100 bytes on 1 KiB lines) and the platform lines.
    assert grown <= LOG_LIMIT * 1.5 + 512 * 1024, grown
    # The function's output ends with the one marker, then the platform's END and REPORT.
    assert messages.count(marker(LOG_LIMIT)) == 1
    at = messages.index(marker(LOG_LIMIT))
    assert messages[at + 1].startswith("END RequestId")
    assert messages[at + 2].startswith("REPORT RequestId")
    # The next invocation has a budget of its own.
    call(lam, fname, {"mb": 0})
    assert logged_invocations(disk_server, fname, 3)[-3].startswith("START RequestId")


def stored_keys(server: NimbusServer) -> tuple[set[str], set[str]]:
    code = server.data_dir / "code"
    blobs = {p.name for p in (code / "blobs").glob("*/*") if not p.name.startswith(".")}
    # Extractions are on the code volume when the server has one (sandbox.code_volume).
    volume = server.code_volume()
    places = [*([volume / "code"] if volume else []), code / "extracted"]
    extracted = {
        p.name
        for place in places
        if place.is_dir()
        for p in place.iterdir()
        if not p.name.startswith(".")
    }
    return blobs, extracted


def wait_until_gone(server: NimbusServer, key: str) -> None:
    deadline = time.monotonic() + HOLD_S + 10
    while time.monotonic() < deadline:
        blobs, extracted = stored_keys(server)
        if key not in blobs and key not in extracted:
            return
        time.sleep(0.05)
    raise AssertionError(f"blob {key} is still stored")


def blob_key(files: dict[str, str]) -> str:
    """The blob a zip of ``files`` is stored as: its sha256 (make_zip is deterministic), so
    that blobs other tests store meanwhile do not matter."""
    return hashlib.sha256(make_zip(files)).hexdigest()


def gc_passes(server: NimbusServer) -> int:
    """How many collection passes the server has logged."""
    found = re.findall(r"code GC pass (\d+):", server.logs())
    return int(found[-1]) if found else 0


def wait_for_gc_pass(server: NimbusServer) -> None:
    """Until a collection pass that began after this call has ended (the pass under way now
    may have read the references before what the caller just did)."""
    target = gc_passes(server) + 2
    deadline = time.monotonic() + 10
    while gc_passes(server) < target:
        assert time.monotonic() < deadline, "no code GC pass ran"
        time.sleep(0.05)


def assert_kept_while_collecting(server: NimbusServer, lam: Any, name: str, key: str) -> None:
    """``key`` outlives a blob that became unreferenced after it would have (if it were):
    a sentinel function is created and deleted, and once the pass that collects the
    sentinel's blob has ended, ``key`` must still be stored. (Waiting a fixed time proves
    nothing: it would pass if no collection ran at all.)"""
    files = {"app.py": ECHO + f"# sentinel {name}\n"}
    deploy(lam, name, files["app.py"], Timeout=TIMEOUT_S)
    wait_for_gc_pass(server)  # seen in use: held for HOLD_S, as ``key``'s users are
    lam.delete_function(FunctionName=name)
    wait_until_gone(server, blob_key(files))
    wait_for_gc_pass(server)
    blobs, _ = stored_keys(server)
    assert key in blobs


def test_a_shared_blob_stays_until_the_last_function_using_it_is_deleted(
    disk_server: NimbusServer, lam: Any, fname: str
) -> None:
    source = ECHO + f"# {fname}\n"  # content unique to this test
    key = blob_key({"app.py": source})
    deploy(lam, f"{fname}-a", source, Timeout=TIMEOUT_S)
    deploy(lam, f"{fname}-b", source, Timeout=TIMEOUT_S)  # the same zip: the same blob
    call(lam, f"{fname}-b", {"x": 1})
    assert key in stored_keys(disk_server)[1]  # extracted
    lam.delete_function(FunctionName=f"{fname}-a")
    assert_kept_while_collecting(disk_server, lam, f"{fname}-sentinel", key)
    assert key in stored_keys(disk_server)[1]
    assert call(lam, f"{fname}-b", {"x": 2})[1] == {"x": 2}
    lam.delete_function(FunctionName=f"{fname}-b")
    wait_until_gone(disk_server, key)


def test_replaced_code_goes_but_a_published_version_keeps_its_own(
    disk_server: NimbusServer, lam: Any, fname: str
) -> None:
    v1, v2 = ECHO + f"# v1 {fname}\n", ECHO + f"# v2 {fname}\n"
    first, second = blob_key({"app.py": v1}), blob_key({"app.py": v2})
    deploy(lam, fname, v1, Timeout=TIMEOUT_S)
    lam.publish_version(FunctionName=fname)  # version 1 keeps the first zip
    lam.update_function_code(FunctionName=fname, ZipFile=make_zip({"app.py": v2}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    wait_for_gc_pass(disk_server)  # seen in use, so held only as long as its Timeout needs
    lam.update_function_code(FunctionName=fname, ZipFile=make_zip({"app.py": ECHO + "# v3\n"}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    wait_until_gone(disk_server, second)  # replaced, and no version uses it
    wait_for_gc_pass(disk_server)
    assert first in stored_keys(disk_server)[0]
    assert call(lam, fname, {"v": 1}, Qualifier="1")[1] == {"v": 1}
    lam.delete_function(FunctionName=fname, Qualifier="1")
    wait_until_gone(disk_server, first)


def test_a_deleted_layer_version_goes_once_no_function_uses_it(
    disk_server: NimbusServer, lam: Any, fname: str
) -> None:
    files = {"python/shared.py": f"NAME = {fname!r}\n"}
    key = blob_key(files)
    layer = lam.publish_layer_version(
        LayerName=fname, Content={"ZipFile": make_zip(files)}, CompatibleRuntimes=["python3.11"]
    )
    user = ECHO.replace("return event", "import shared\n    return shared.NAME")
    deploy(lam, f"{fname}-user", user, Layers=[layer["LayerVersionArn"]], Timeout=TIMEOUT_S)
    lam.delete_layer_version(LayerName=fname, VersionNumber=layer["Version"])
    # A function still runs it, as on AWS.
    assert_kept_while_collecting(disk_server, lam, f"{fname}-sentinel", key)
    assert call(lam, f"{fname}-user")[1] == fname
    lam.delete_function(FunctionName=f"{fname}-user")
    wait_until_gone(disk_server, key)
