"""Leak 7, bounded disk: a function's log output per invocation is capped (truncated with one
marker line), and code blobs and their extractions go once nothing references them."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from nimbus.worker.log_pipe import marker
from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer, make_zip

LOG_LIMIT = 1024 * 1024

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
    instance = NimbusServer(
        data_dir=tmp_path_factory.mktemp("nimbus-disk") / "data",
        env={
            "NIMBUS_LOG_LIMIT_BYTES": str(LOG_LIMIT),
            "NIMBUS_CODE_GC_GRACE": "0",  # collect as soon as nothing references a blob
            "NIMBUS_CODE_GC_INTERVAL": "0.1",
        },
    )
    instance.start()
    yield instance
    instance.stop()


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
    for _ in range(100):
        events = httpx.get(
            f"{server.url}/_nimbus/logs/{name}", params={"after": after, "limit": 10_000}
        ).json()["events"]
        if not events:
            return messages
        messages += [e["message"] for e in events]
        after = events[-1]["id"]
    return messages


def test_100_mb_of_stdout_grows_the_database_by_at_most_the_cap(
    disk_server: NimbusServer, lam: Any, fname: str
) -> None:
    deploy(lam, fname, FLOOD, Timeout=60, MemorySize=512)
    call(lam, fname, {"mb": 0})  # the cold start's own rows are not the flood's
    time.sleep(0.3)  # the log store flushes every 0.1 s
    before = database_bytes(disk_server.data_dir)
    started = time.monotonic()
    response, payload = call(lam, fname, {"mb": 100})
    assert payload == "done" and "FunctionError" not in response
    assert time.monotonic() - started < 30
    messages = function_log(disk_server, fname)
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
    assert function_log(disk_server, fname)[-3].startswith("START RequestId")


def stored_keys(server: NimbusServer) -> tuple[set[str], set[str]]:
    code = server.data_dir / "code"
    blobs = {p.name for p in (code / "blobs").glob("*/*") if not p.name.startswith(".")}
    extracted = {p.name for p in (code / "extracted").iterdir() if not p.name.startswith(".")}
    return blobs, extracted


def wait_until_gone(server: NimbusServer, key: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        blobs, extracted = stored_keys(server)
        if key not in blobs and key not in extracted:
            return
        time.sleep(0.05)
    raise AssertionError(f"blob {key} is still stored")


def newest_key(server: NimbusServer, before: set[str]) -> str:
    blobs, _ = stored_keys(server)
    [key] = blobs - before
    return key


def test_a_shared_blob_stays_until_the_last_function_using_it_is_deleted(
    disk_server: NimbusServer, lam: Any, fname: str
) -> None:
    before, _ = stored_keys(disk_server)
    source = ECHO + f"# {fname}\n"  # content unique to this test
    deploy(lam, f"{fname}-a", source)
    key = newest_key(disk_server, before)
    deploy(lam, f"{fname}-b", source)  # the same zip: the same blob
    call(lam, f"{fname}-b", {"x": 1})
    assert key in stored_keys(disk_server)[1]  # extracted
    lam.delete_function(FunctionName=f"{fname}-a")
    time.sleep(0.5)  # several collection passes
    blobs, extracted = stored_keys(disk_server)
    assert key in blobs and key in extracted
    assert call(lam, f"{fname}-b", {"x": 2})[1] == {"x": 2}
    lam.delete_function(FunctionName=f"{fname}-b")
    wait_until_gone(disk_server, key)


def test_replaced_code_goes_but_a_published_version_keeps_its_own(
    disk_server: NimbusServer, lam: Any, fname: str
) -> None:
    before, _ = stored_keys(disk_server)
    deploy(lam, fname, ECHO + f"# v1 {fname}\n")
    first = newest_key(disk_server, before)
    lam.publish_version(FunctionName=fname)  # version 1 keeps the first zip
    lam.update_function_code(FunctionName=fname, ZipFile=make_zip({"app.py": ECHO + "# v2\n"}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    second = newest_key(disk_server, before | {first})
    lam.update_function_code(FunctionName=fname, ZipFile=make_zip({"app.py": ECHO + "# v3\n"}))
    lam.get_waiter("function_updated_v2").wait(FunctionName=fname)
    wait_until_gone(disk_server, second)  # replaced, and no version uses it
    assert first in stored_keys(disk_server)[0]
    assert call(lam, fname, {"v": 1}, Qualifier="1")[1] == {"v": 1}
    lam.delete_function(FunctionName=fname, Qualifier="1")
    wait_until_gone(disk_server, first)


def test_a_deleted_layer_version_goes_once_no_function_uses_it(
    disk_server: NimbusServer, lam: Any, fname: str
) -> None:
    before, _ = stored_keys(disk_server)
    layer = lam.publish_layer_version(
        LayerName=fname,
        Content={"ZipFile": make_zip({"python/shared.py": f"NAME = {fname!r}\n"})},
        CompatibleRuntimes=["python3.11"],
    )
    key = newest_key(disk_server, before)
    user = ECHO.replace("return event", "import shared\n    return shared.NAME")
    deploy(lam, f"{fname}-user", user, Layers=[layer["LayerVersionArn"]])
    lam.delete_layer_version(LayerName=fname, VersionNumber=layer["Version"])
    time.sleep(0.5)
    assert key in stored_keys(disk_server)[0]  # a function still runs it, as on AWS
    assert call(lam, f"{fname}-user")[1] == fname
    lam.delete_function(FunctionName=f"{fname}-user")
    wait_until_gone(disk_server, key)
