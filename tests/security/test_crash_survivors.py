"""Leak 2: nothing of a crashed server's sandboxes may outlive its next start.

A sandbox that survived a ``kill -9`` of the server kept its uid; the restarted server gave
the same uid to a new function, whose Runtime API then accepted the survivor (it received
another function's event and answered it). Now each server holds a lock file while it lives
and, at start-up, kills everything in the cgroup trees of dead servers and removes them; and
a uid block is claimed only once no process runs under its uids (a busy block is skipped,
its processes never killed: they may not be Nimbus's)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from nimbus.worker.sandbox.host_lock import LOCK_DIR, HostLock, private_dir
from nimbus.worker.sandbox.uid_pool import DEFAULT_BASE, UidPool
from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="sandboxes with cgroups need root")

CGROUP = Path("/sys/fs/cgroup")
V2 = (CGROUP / "cgroup.controllers").exists()
V1_CONTROLLERS = ("memory", "pids", "cpu", "freezer")


def wait_for(check: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def own_cgroup(controller: str | None) -> str:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if (controller is None and controllers == "") or (
            controller is not None and controller in controllers.split(",")
        ):
            return path.lstrip("/")
    return ""


def host_tree(host_id: str, pid: int, *, frozen: bool) -> list[Path]:
    """A server's cgroup parent made by hand, ``nimbus-<host_id>/env`` with ``pid`` in it
    (frozen when asked: a frozen v1 task ignores SIGKILL until thawed)."""
    tops: list[Path] = []
    controllers: tuple[str | None, ...] = (None,) if V2 else V1_CONTROLLERS
    for controller in controllers:
        base = CGROUP / own_cgroup(None) if controller is None else CGROUP / controller
        if controller is not None:
            base = base / own_cgroup(controller)
        top = base / f"nimbus-{host_id}"
        (top / "env").mkdir(parents=True)
        (top / "env" / "cgroup.procs").write_text(str(pid))
        tops.append(top)
        if frozen and controller is None:
            (top / "env" / "cgroup.freeze").write_text("1")
        elif frozen and controller == "freezer":
            (top / "env" / "freezer.state").write_text("FROZEN")
    return tops


def remove_tree(tops: list[Path]) -> None:
    for top in tops:
        for state in ("freezer.state", "cgroup.freeze"):
            with contextlib.suppress(OSError):
                (top / "env" / state).write_text("THAWED" if state == "freezer.state" else "0")
        for path in (top / "env", top):
            with contextlib.suppress(OSError):
                path.rmdir()


def sleeper() -> subprocess.Popen[bytes]:
    """A process of no server's: what a sandbox's survivor looks like from the host."""
    return subprocess.Popen(["sleep", "300"], start_new_session=True)


def test_start_up_kills_dead_servers_sandboxes_and_spares_live_and_unowned_ones(
    tmp_path: Path,
) -> None:
    dead_id, unowned_id, live_id = (uuid.uuid4().hex[:8] for _ in range(3))
    dead, unowned, live = sleeper(), sleeper(), sleeper()
    live_lock = HostLock.acquire(LOCK_DIR, live_id)  # held by this test: a live server
    trees: list[Path] = []
    try:
        # A server killed with kill -9: its lock file names its trees; nobody holds it.
        dead_trees = host_tree(dead_id, dead.pid, frozen=True)
        (LOCK_DIR / f"{dead_id}.lock").write_text("".join(f"{t}\n" for t in dead_trees))
        # A tree no lock file names: it may be a live server this one cannot see (another
        # container sharing the cgroupfs), so it is only logged.
        unowned_trees = host_tree(unowned_id, unowned.pid, frozen=False)
        live_trees = host_tree(live_id, live.pid, frozen=True)
        live_lock.record(live_trees)
        trees = dead_trees + unowned_trees + live_trees
        server = NimbusServer(data_dir=tmp_path / "data")
        server.start()
        try:
            # Start-up has cleaned up before the server listens: nothing to wait for.
            assert dead.wait(timeout=5) == -signal.SIGKILL
            assert not any(t.exists() for t in dead_trees)
            assert not (LOCK_DIR / f"{dead_id}.lock").exists()
            assert live.poll() is None and all(t.exists() for t in live_trees)
            assert unowned.poll() is None and all(t.exists() for t in unowned_trees)
            assert f"nimbus-{unowned_id} has no host lock file" in server.logs()
        finally:
            server.stop()
        assert live.poll() is None  # a server's stop leaves other servers' sandboxes too
    finally:
        for process in (dead, unowned, live):
            process.kill()
        remove_tree(trees)
        live_lock.release()
        for process in (dead, unowned, live):
            process.wait(timeout=5)


def test_a_survivor_under_a_block_uid_in_a_dead_tree_is_killed_by_the_sweep(
    tmp_path: Path,
) -> None:
    """A dead server's process placed by hand in its cgroup tree, under a uid of the block
    the next server claims (no parent-death chain: only the start-up sweep can kill it;
    were it left, the block would be skipped with it still running)."""
    dead_id = uuid.uuid4().hex[:8]
    survivor = subprocess.Popen(["sleep", "300"], user=DEFAULT_BASE + 7, start_new_session=True)
    trees: list[Path] = []
    try:
        private_dir(LOCK_DIR)
        trees = host_tree(dead_id, survivor.pid, frozen=True)
        (LOCK_DIR / f"{dead_id}.lock").write_text("".join(f"{t}\n" for t in trees))
        server = NimbusServer(data_dir=tmp_path / "data")
        server.start()
        try:
            assert survivor.wait(timeout=5) == -signal.SIGKILL
            assert not any(t.exists() for t in trees)
            lam = server.client("lambda")
            deploy(lam, "fresh", FRESH)
            response, out = call(lam, "fresh", {"n": 1})
            assert "FunctionError" not in response and out["event"] == {"n": 1}, out
        finally:
            server.stop()
    finally:
        survivor.kill()
        survivor.wait(timeout=5)
        remove_tree(trees)


# The hostile function: a detached grandchild (own session, every catchable signal ignored)
# that survives its server and then keeps trying to steal invocations from every Runtime API
# it can find listening on this machine.
SURVIVOR = r"""
import json, os, signal, socket, sys, time
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1):
    signal.signal(s, signal.SIG_IGN)
token = sys.argv[1]
end = time.monotonic() + 120
while time.monotonic() < end:
    try:
        lines = open('/proc/net/tcp').read().splitlines()[1:]
    except OSError:
        lines = []
    for line in lines:
        local, state = line.split()[1], line.split()[3]
        if state != '0A' or not local.startswith('0100007F:'):
            continue
        port = int(local.split(':')[1], 16)
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=0.2) as conn:
                conn.sendall(b'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n')
                head = conn.recv(65536).decode('latin-1')
                rid = [l.split(':', 1)[1].strip() for l in head.split('\r\n')
                       if l.lower().startswith('lambda-runtime-aws-request-id:')]
                if rid:
                    body = json.dumps({'stolen': token}).encode()
                    head = ('POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\n'
                            'Host: x\r\nContent-Length: %d\r\n\r\n' % (rid[0], len(body)))
                    conn.sendall(head.encode() + body)
        except OSError:
            pass
    time.sleep(0.05)
"""

VICTIM = (
    "import os, sys\n"
    f"SURVIVOR = {SURVIVOR!r}\n"
    """
def handler(event, context):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            for exe in (sys.executable, '/var/lang/bin/python3', '/proc/self/exe'):
                try:
                    os.execv(exe, [exe, '-c', SURVIVOR, event['token']])
                except OSError:
                    pass
        os._exit(0)
    os.wait()
    return {"uid": os.getuid()}
"""
)

FRESH = """
import os
def handler(event, context):
    return {"event": event, "uid": os.getuid()}
"""


def survivors(token: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                cmdline = Path(f"/proc/{name}/cmdline").read_bytes()
                state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if token.encode() in cmdline.split(b"\0") and state != "Z":
                found.append(int(name))
    return found


def host_id_in(logs: str) -> str:
    match = re.search(r"sandbox cgroups: nimbus-([0-9a-f]+)", logs)
    assert match, logs
    return match.group(1)


@pytest.fixture
def token() -> Iterator[str]:
    value = f"survivor-{uuid.uuid4().hex}"
    yield value
    for pid in survivors(value):  # never leave one behind, whatever the outcome
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("network", ["isolated", "host"])
def test_no_sandbox_outlives_a_killed_server_and_its_uid_is_not_stolen(
    tmp_path: Path, token: str, network: str
) -> None:
    # On the host's network the survivor can reach every Runtime API on this machine's
    # loopback: only the kill and the uid check stand between it and the next function.
    # Freezing off: the survivor is forked and exec'd after the handler has answered, and an
    # idle environment is frozen 10 ms later; on a loaded machine it could be frozen before
    # it has exec'd, and the precondition (a survivor runs) would fail for no reason.
    env = {"NIMBUS_FUNCTION_NETWORK": network, "NIMBUS_FREEZE_IDLE_MS": "off"}
    first = NimbusServer(data_dir=tmp_path / "first", env=env)
    first.start()
    try:
        lam = first.client("lambda")
        deploy(lam, "victim", VICTIM, Timeout=10)
        response, out = call(lam, "victim", {"token": token})
        assert "FunctionError" not in response, out
        assert wait_for(lambda: bool(survivors(token)), 5.0)  # the survivor runs
        first_host = host_id_in(first.logs())
    finally:
        first.kill9()

    second = NimbusServer(data_dir=tmp_path / "second", env=env)
    second.start()
    try:
        # Whatever survived the kill -9 is dead once the next server has started, and the
        # dead server's cgroups and lock file are gone.
        assert wait_for(lambda: not survivors(token), 3.0), survivors(token)
        assert not (LOCK_DIR / f"{first_host}.lock").exists()
        assert not list(CGROUP.glob(f"*/nimbus-{first_host}")) and not list(
            CGROUP.glob(f"nimbus-{first_host}")
        )
        lam = second.client("lambda")
        deploy(lam, "fresh", FRESH)
        for n in range(10):
            response, out = call(lam, "fresh", {"n": n})
            assert out["event"] == {"n": n}, out  # its own events, answered by itself
        assert "FunctionError" not in response
    finally:
        second.stop()


def test_a_block_with_a_process_under_its_uids_is_skipped_and_the_process_spared(
    tmp_path: Path,
) -> None:
    """The uid side on its own: a process running under a block's uid (another program's,
    or a survivor whose cgroup was lost) makes the pool take the next block; it is never
    killed, frozen or not."""
    base = 3_000_000_000 + (os.getpid() % 1000) * 100  # a range no account of this machine has
    survivor = subprocess.Popen(["sleep", "300"], user=base + 3, start_new_session=True)
    try:
        pool = UidPool(base, 10)
        pool.claim_block(tmp_path, blocks=2)
        try:
            assert pool.acquire() == base + 10  # the next block: never the survivor's uid
            assert survivor.poll() is None
        finally:
            pool.close()
    finally:
        survivor.kill()
        survivor.wait(timeout=5)
