"""Red team: hostile functions trying to leave their sandbox (namespaces isolation, as root).

Each test deploys a function that attacks from inside — other functions' code and processes,
the host's processes, signals, ptrace, files outside /tmp — and asserts the attack was
contained, looking from the host where the function cannot lie (host /proc, the victim's own
answers, host files). Kernel interfaces and privileges are in test_redteam_kernel.py; the
nine leaks of issue 11 have their own regression tests beside these files.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer, make_zip

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root")

VICTIM = """
import os
SECRET_IN_CODE = "{marker}"
count = 0
def handler(event, context):
    global count
    count += 1
    return {{"uid": os.getuid(), "count": count}}
"""


def _host_pids_of_uid(uid: int) -> list[int]:
    """Host pids whose real uid is ``uid`` (read from the host's /proc, as root)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            status = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("Uid:") and int(line.split()[1]) == uid:
                pids.append(int(entry))
    return pids


@pytest.fixture(scope="module")
def victim(module_lam: Any) -> dict[str, Any]:
    """A warm function holding a secret in its code and in its environment."""
    marker = f"victim-{uuid.uuid4().hex}"
    name = f"victim-{uuid.uuid4().hex[:8]}"
    code = make_zip({"app.py": VICTIM.format(marker=marker)})
    deploy(
        module_lam,
        name,
        {"app.py": VICTIM.format(marker=marker)},
        Environment={"Variables": {"VICTIM_SECRET": marker}},
    )
    out = call(module_lam, name, {})[1]
    pids = _host_pids_of_uid(out["uid"])
    assert pids, "the victim's runtime should be running on the host"
    return {
        "name": name,
        "marker": marker,
        "uid": out["uid"],
        "pids": pids,
        "blob": hashlib.sha256(code).hexdigest(),
    }


def _assert_victim_untouched(lam: Any, victim: dict[str, Any]) -> None:
    """The victim's environment is the same warm one (its counter kept counting)."""
    response, out = call(lam, victim["name"], {})
    assert "FunctionError" not in response, out
    assert out["uid"] == victim["uid"]
    assert out["count"] >= 2, out
    victim["count"] = out["count"]


def _attack(lam: Any, name: str, source: str, event: Any, **config: Any) -> Any:
    deploy(lam, name, source, Timeout=config.pop("Timeout", 20), **config)
    response, out = call(lam, name, event)
    assert "FunctionError" not in response, out
    return out


def test_another_functions_code_and_the_data_dir_are_unreachable(
    module_lam: Any, module_server: NimbusServer, victim: dict[str, Any], fname: str
) -> None:
    """Attack: read the victim's code — at the host paths where the server keeps it (blobs,
    extracted directories, the database), and anywhere else the sandbox can see."""
    data_dir = str(module_server.data_dir)
    hunter = """
import os
def handler(event, context):
    marker = event["marker"].encode()
    found, reachable = [], []
    for path in event["paths"]:
        if os.path.exists(path):
            reachable.append(path)
    # Everything but the read-only system binds (the host's /usr, /etc, the interpreter).
    system = {"/proc", "/usr", "/etc", "/root", "/var/lang", "/var/runtime", "/bin", "/sbin",
              "/lib", "/lib64", "/lib32"}
    for root, dirs, files in os.walk("/"):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in system]
        for name in files:
            path = os.path.join(root, name)
            try:
                with open(path, "rb") as handle:
                    if marker in handle.read(1 << 20):
                        found.append(path)
            except OSError:
                pass
    return {"found": found, "reachable": reachable}
"""
    paths = [
        data_dir,
        f"{data_dir}/nimbus.db",
        f"{data_dir}/code",
        str(module_server.data_dir.parent),
        *[str(p) for p in module_server.data_dir.rglob(f"*{victim['blob']}*")],
    ]
    out = _attack(module_lam, fname, hunter, {"marker": victim["marker"], "paths": paths})
    assert out == {"found": [], "reachable": []}
    _assert_victim_untouched(module_lam, victim)


def test_host_processes_are_invisible(
    module_lam: Any, module_server: NimbusServer, victim: dict[str, Any], fname: str
) -> None:
    """Attack: list processes to find the server, other functions and host services."""
    lister = """
import os
def handler(event, context):
    seen = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                status = open(f"/proc/{pid}/status").read()
                seen[pid] = int(status.split("Uid:")[1].split()[0])
            except (OSError, IndexError) as exc:
                seen[pid] = type(exc).__name__
    probes = {str(p): os.path.exists(f"/proc/{p}") for p in event["host_pids"]}
    return {"uid": os.getuid(), "seen": seen, "probes": probes}
"""
    assert module_server.process is not None
    host_pids = [module_server.process.pid, *victim["pids"]]
    out = _attack(module_lam, fname, lister, {"host_pids": host_pids})
    # Every process it can see is one of its own ...
    assert set(out["seen"].values()) == {out["uid"]}, out["seen"]
    assert len(out["seen"]) <= len(_host_pids_of_uid(out["uid"]))
    # ... and the host's pid numbers name nothing, unless by chance one of its own.
    assert all(pid in out["seen"] for pid, exists in out["probes"].items() if exists), out


def test_proc_root_and_environ_of_other_processes_give_nothing(
    module_lam: Any, module_server: NimbusServer, victim: dict[str, Any], fname: str
) -> None:
    """Attack: /proc/<pid>/root (another process's filesystem), /proc/<pid>/environ and
    /proc/<pid>/mem of every pid number the host uses, hoping one resolves to the victim or
    the server and hands over its files or its environment (VICTIM_SECRET)."""
    snoop = """
import os
def handler(event, context):
    marker = event["marker"]
    hits = []
    for pid in event["pids"] + [p for p in os.listdir("/proc") if p.isdigit()]:
        for what in ("environ", "cmdline", "root/var/task/app.py", "cwd/app.py", "mem"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as handle:
                    if marker.encode() in handle.read(1 << 16):
                        hits.append(f"{pid}/{what}")
            except OSError:
                pass
    return hits
"""
    assert module_server.process is not None
    pids = [str(p) for p in (*victim["pids"], module_server.process.pid, 1)]
    assert _attack(module_lam, fname, snoop, {"marker": victim["marker"], "pids": pids}) == []
    _assert_victim_untouched(module_lam, victim)


def test_signals_cannot_reach_the_server_or_other_functions(
    module_lam: Any, module_server: NimbusServer, victim: dict[str, Any], fname: str
) -> None:
    """Attack: kill -9 the server's pid, the victim's host pids, the host's pid 1, and
    everything (kill(-1, SIGKILL), which from a namespace's init kills all it can reach)."""
    killer = """
import os, signal
def handler(event, context):
    results = {}
    for pid in event["pids"]:
        try:
            os.kill(pid, signal.SIGKILL)
            results[str(pid)] = "sent"
        except OSError as exc:
            results[str(pid)] = type(exc).__name__
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    return results
"""
    assert module_server.process is not None
    targets = [module_server.process.pid, *victim["pids"]]
    out = _attack(module_lam, fname, killer, {"pids": [*targets, 1]})
    assert all(out[str(pid)] == "ProcessLookupError" for pid in targets), out
    assert module_server.process.poll() is None
    assert all(Path(f"/proc/{pid}").exists() for pid in victim["pids"])
    _assert_victim_untouched(module_lam, victim)


def test_ptrace_and_process_vm_readv_cannot_reach_outside(
    module_lam: Any, module_server: NimbusServer, victim: dict[str, Any], fname: str
) -> None:
    """Attack: PTRACE_ATTACH to and process_vm_readv from the victim's and the server's host
    pids, to read their memory (the victim's environment holds its secret)."""
    tracer = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
def handler(event, context):
    out = {}
    buf = ctypes.create_string_buffer(4096)
    for pid in event["pids"]:
        attach = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
        attach_errno = ctypes.get_errno()
        local = iovec(ctypes.cast(buf, ctypes.c_void_p), 4096)
        remote = iovec(ctypes.c_void_p(0x400000), 4096)
        read = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
        out[str(pid)] = [attach, os.strerror(attach_errno), read, os.strerror(ctypes.get_errno())]
    return out
"""
    assert module_server.process is not None
    pids = [module_server.process.pid, *victim["pids"]]
    out = _attack(module_lam, fname, tracer, {"pids": pids})
    for pid in pids:
        attach, _, read, _ = out[str(pid)]
        assert attach == -1 and read == -1, out
    for pid in victim["pids"]:
        status = Path(f"/proc/{pid}/status").read_text()
        assert "TracerPid:\t0" in status
    _assert_victim_untouched(module_lam, victim)


WRITER = """
import os
def handler(event, context):
    out = {}
    for directory in event["dirs"]:
        path = os.path.join(directory, event["name"])
        try:
            with open(path, "w") as handle:
                handle.write("pwned")
            out[directory] = "written"
        except OSError as exc:
            out[directory] = type(exc).__name__
        for attempt, act in (("mkdir", lambda: os.mkdir(path + ".d")),
                             ("symlink", lambda: os.symlink("/tmp", path + ".l"))):
            try:
                act()
                out[directory + ":" + attempt] = "done"
            except OSError as exc:
                out[directory + ":" + attempt] = type(exc).__name__
    return out
"""


def test_nothing_outside_tmp_is_writable(module_lam: Any, fname: str) -> None:
    """Attack: write, mkdir and symlink into /, /var/task (its own code), /opt, /etc, /usr,
    /var, /dev, /root and /var/runtime (the runtime client), to tamper with code or plant
    files the host or another function would pick up."""
    name = f"redteam-{uuid.uuid4().hex}"
    dirs = [
        "/",
        "/var/task",
        "/opt",
        "/etc",
        "/usr",
        "/usr/bin",
        "/var",
        "/dev",
        "/root",
        "/var/runtime",
        "/tmp",
    ]
    out = _attack(module_lam, fname, WRITER, {"dirs": dirs, "name": name})
    assert out.pop("/tmp") == "written"
    assert out.pop("/tmp:mkdir") == "done" and out.pop("/tmp:symlink") == "done"
    assert not any(result in ("written", "done") for result in out.values()), out
    for directory in ("/etc", "/usr/bin", "/opt", "/root", "/"):
        assert not list(Path(directory).glob(f"{name}*")), directory
