"""Leak 9: /tmp was a tmpfs, RAM charged to MemorySize (a 128 MB function with 512 MB of
EphemeralStorage was OOM-killed writing /tmp). Now each environment's /tmp is an ext4 of
EphemeralStorage MB on a loop device: memory and ephemeral storage are separate limits, as
on AWS. A hostile function filling /tmp gets ENOSPC at its limit and nothing else."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not os.path.exists("/dev/loop-control"),
    reason="disk-backed /tmp needs root and loop devices",
)

MB = 1024 * 1024

FILL = """
import errno, os
def handler(event, context):
    chunk = b"x" * (1024 * 1024)
    written = 0
    try:
        with open('/tmp/fill', 'wb') as f:
            while written < event["mb"]:
                f.write(chunk)
                f.flush()
                written += 1
            os.fsync(f.fileno())
        error = None
    except OSError as exc:
        error = exc.errno
    st = os.statvfs('/tmp')
    if event.get("remove"):
        os.remove('/tmp/fill')
    return {"written_mb": written, "errno": error, "size_mb": st.f_blocks * st.f_frsize / 2**20}
"""

PROBE = """
import os
def handler(event, context):
    if "plant" in event:
        with open('/tmp/' + event["plant"], 'w') as f:
            f.write(event["plant"])
    st = os.statvfs('/tmp')
    mounts = [line.split() for line in open('/proc/self/mountinfo')]
    tmp = [m for m in mounts if m[4] == '/tmp']
    fstype = tmp[-1][tmp[-1].index('-') + 1] if tmp else None
    dev = os.stat('/tmp').st_dev
    return {"size_mb": st.f_blocks * st.f_frsize / 2**20, "fstype": fstype,
            "files": sorted(os.listdir('/tmp')), "mode": os.stat('/tmp').st_mode & 0o7777,
            "dev": [os.major(dev), os.minor(dev)]}
"""


def _loop_of(dev: list[int]) -> str:
    """The loop device (loopN) behind a device number the function reported."""
    return Path(os.path.realpath(f"/sys/dev/block/{dev[0]}:{dev[1]}")).name


def _backing(device: str) -> str | None:
    try:
        return Path(f"/sys/block/{device}/loop/backing_file").read_text().strip()
    except OSError:
        return None


def test_a_128_mb_function_writes_400_mb_to_its_512_mb_tmp(module_lam: Any, fname: str) -> None:
    deploy(module_lam, fname, FILL, MemorySize=128, EphemeralStorage={"Size": 512}, Timeout=60)
    response, out = call(module_lam, fname, {"mb": 400, "remove": True})
    assert "FunctionError" not in response, out  # it was Runtime.OutOfMemory on a tmpfs
    assert out["errno"] is None
    assert out["written_mb"] == 400


def test_writing_past_ephemeral_storage_fails_with_enospc_and_the_function_lives(
    module_lam: Any, fname: str
) -> None:
    deploy(module_lam, fname, FILL, MemorySize=256, EphemeralStorage={"Size": 512}, Timeout=60)
    response, out = call(module_lam, fname, {"mb": 700, "remove": True})
    assert "FunctionError" not in response, out  # the error is the function's to handle
    assert out["errno"] == 28  # ENOSPC
    assert 450 <= out["written_mb"] <= 512  # the limit is EphemeralStorage (ext4 keeps ~2%)
    # The same environment goes on working, and its /tmp is usable again.
    response, again = call(module_lam, fname, {"mb": 10, "remove": True})
    assert "FunctionError" not in response, again
    assert again == {"written_mb": 10, "errno": None, "size_mb": out["size_mb"]}


def test_tmp_is_an_empty_sticky_ext4_of_512_mb_by_default(module_lam: Any, fname: str) -> None:
    deploy(module_lam, fname, PROBE)
    out = call(module_lam, fname, {})[1]
    assert out["fstype"] == "ext4"
    assert 512 <= out["size_mb"] < 513  # what df shows inside the function
    assert out["files"] == []
    assert out["mode"] == 0o1777
    deploy(module_lam, f"{fname}-big", PROBE, EphemeralStorage={"Size": 2048})
    assert 2048 <= call(module_lam, f"{fname}-big", {})[1]["size_mb"] < 2049


def test_one_environments_tmp_is_invisible_to_another(module_lam: Any, fname: str) -> None:
    deploy(module_lam, fname, PROBE)
    deploy(module_lam, f"{fname}-other", PROBE)
    planted = call(module_lam, fname, {"plant": "secret-of-a"})[1]
    assert planted["files"] == ["secret-of-a"]
    other = call(module_lam, f"{fname}-other", {})[1]
    assert other["files"] == []
    assert other["dev"] != planted["dev"]  # a filesystem of its own, not a shared one


def test_tmp_disk_is_released_with_its_environment(
    module_lam: Any, module_server: NimbusServer, fname: str
) -> None:
    deploy(module_lam, fname, PROBE)
    out = call(module_lam, fname, {"plant": "x"})[1]
    device = _loop_of(out["dev"])
    backing = _backing(device)
    disks = os.path.realpath(module_server.data_dir / "sandboxes" / "tmp-disks")
    assert backing is not None and backing.startswith(disks + "/"), backing
    module_lam.delete_function(FunctionName=fname)
    deadline = time.monotonic() + 15
    while _backing(device) == backing and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _backing(device) != backing  # the loop device let go of the image
    # and the image, an unnamed file, went with it: the host's directory holds no files
    for host_dir in Path(disks).iterdir():
        if host_dir.is_dir() and host_dir.name != "templates":
            assert list(host_dir.iterdir()) == []
