"""Red team: hostile functions reaching for kernel interfaces and privileges (namespaces
isolation, as root): raw sockets, mount/unshare/chroot/setns, setuid binaries, /dev, /sys,
/proc/sys, kernel modules, the hostname — from Python, a custom `bootstrap` shell runtime and
Node.js. Each attack must fail, and the host must show no trace of it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root")


def _attack(lam: Any, name: str, source: str, event: Any, **config: Any) -> Any:
    deploy(lam, name, source, Timeout=config.pop("Timeout", 20), **config)
    response, out = call(lam, name, event)
    assert "FunctionError" not in response, out
    return out


def test_raw_and_packet_sockets_are_refused(module_lam: Any, fname: str) -> None:
    """Attack: AF_PACKET and SOCK_RAW sockets, to sniff or forge the host's traffic (other
    functions' requests, the Runtime API's loopback connections)."""
    sniffer = """
import socket
def handler(event, context):
    out = {}
    for label, args in {"packet": (socket.AF_PACKET, socket.SOCK_RAW, 0x0300),
                        "packet-dgram": (socket.AF_PACKET, socket.SOCK_DGRAM, 0x0300),
                        "raw-icmp": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
                        "raw-tcp": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP),
                        "raw-ip": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW),
                        "raw-ipv6": (socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_RAW)}.items():
        try:
            socket.socket(*args).close()
            out[label] = "opened"
        except OSError as exc:
            out[label] = type(exc).__name__
    return out
"""
    out = _attack(module_lam, fname, sniffer, {})
    assert "opened" not in out.values(), out


def test_mount_unshare_chroot_and_setns_are_refused(module_lam: Any, fname: str) -> None:
    """Attack: mount a filesystem (tmpfs over /var/task, a new proc, sysfs), unmount the
    read-only binds, make a user namespace (to become "root" in it and mount from there),
    new mount/net/pid namespaces, setns into pid 1's namespaces, chroot, pivot_root."""
    escaper = """
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def call(fn, *args):
    result = fn(*args)
    return "ok" if result == 0 else os.strerror(ctypes.get_errno())
def handler(event, context):
    out = {
        "mount-tmpfs": call(libc.mount, b"x", b"/var/task", b"tmpfs", 0, None),
        "mount-proc": call(libc.mount, b"proc", b"/tmp", b"proc", 0, None),
        "mount-sysfs": call(libc.mount, b"sysfs", b"/tmp", b"sysfs", 0, None),
        "mount-bind": call(libc.mount, b"/tmp", b"/var/task", None, 4096, None),
        "umount": call(libc.umount2, b"/var/task", 2),
        "pivot_root": call(libc.syscall, 155, b"/tmp", b"/tmp"),
        "chroot": call(libc.chroot, b"/tmp"),
    }
    for label, flag in {"user": 0x10000000, "mnt": 0x00020000, "net": 0x40000000,
                        "pid": 0x20000000, "uts": 0x04000000, "ipc": 0x08000000,
                        "cgroup": 0x02000000, "time": 0x00000080}.items():
        pid = os.fork()
        if pid == 0:  # in a child: a namespace that worked would be the child's only
            os._exit(0 if libc.unshare(flag) == 0 else 1)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
        out["unshare-" + label] = "ok" if code == 0 else "refused"
    for ns in ("mnt", "net", "pid", "user"):
        try:
            fd = os.open(f"/proc/1/ns/{ns}", os.O_RDONLY)
            out["setns-" + ns] = call(libc.setns, fd, 0)
            os.close(fd)
        except OSError as exc:
            out["setns-" + ns] = type(exc).__name__
    script = "mount -t tmpfs x /var/task && echo mounted"
    shell = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True)
    out["unshare-cmd"] = "ok" if "mounted" in shell.stdout else "refused"
    with open("/proc/self/mounts") as handle:
        out["mounts"] = handle.read()
    return out
"""
    out = _attack(module_lam, fname, escaper, {})
    mounts = out.pop("mounts")
    refused = {k: v for k, v in out.items() if v != "ok"}
    assert refused == out, f"succeeded: {set(out) - set(refused)}"
    assert " /var/task " in mounts and "tmpfs /var/task" not in mounts


def test_setuid_binaries_on_the_system_do_not_raise_privileges(module_lam: Any, fname: str) -> None:
    """Attack: exec the host's setuid-root binaries (su, passwd, mount, ...) bound into the
    sandbox; with no_new_privs the kernel must ignore their setuid bit."""
    candidates = [
        p
        for p in (
            "/usr/bin/su",
            "/usr/bin/passwd",
            "/usr/bin/mount",
            "/usr/bin/newgrp",
            "/usr/bin/chsh",
        )
        if os.stat(p).st_mode & 0o4000
    ]
    if not candidates and not Path("/usr/bin/su").exists():
        pytest.skip("no setuid binaries on this host")
    prober = """
import os, subprocess, time
def handler(event, context):
    out = {"no_new_privs": "NoNewPrivs:\\t1" in open("/proc/self/status").read()}
    for path in event["binaries"]:
        child = subprocess.Popen([path], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
        try:
            # The kernel sets the effective uid at exec: while the binary waits for its
            # stdin (a password), its credentials are the ones exec gave it.
            uid_line = ""
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline and child.poll() is None:
                status = open(f"/proc/{child.pid}/status").read()
                uid_line = [l for l in status.splitlines() if l.startswith("Uid:")][0]
                if path.encode() in open(f"/proc/{child.pid}/cmdline", "rb").read():
                    break
                time.sleep(0.01)
            out[path] = uid_line
        finally:
            child.kill()
            child.wait()
    out["uid"] = os.getuid()
    return out
"""
    out = _attack(module_lam, fname, prober, {"binaries": candidates})
    assert out["no_new_privs"] is True
    for path in candidates:
        if out[path]:
            assert out[path].split()[1:] == [str(out["uid"])] * 4, (path, out[path])


def test_dev_holds_only_harmless_devices(module_lam: Any, fname: str) -> None:
    """Attack: look for block devices (the host's disk), /dev/mem, /dev/kmsg, /dev/tty*, and
    make device nodes of one's own (mknod of the host disk in /tmp)."""
    prober = """
import os, stat
def handler(event, context):
    out = {"entries": {}}
    for name in os.listdir("/dev"):
        mode = os.lstat("/dev/" + name).st_mode
        kind = ("char" if stat.S_ISCHR(mode) else "block" if stat.S_ISBLK(mode)
                else "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else "other")
        out["entries"][name] = kind
    for label, path, kind, dev in (("mknod-disk", "/tmp/disk", stat.S_IFBLK, (253, 0)),
                                   ("mknod-mem", "/tmp/mem", stat.S_IFCHR, (1, 1)),
                                   ("mknod-kmsg", "/tmp/kmsg", stat.S_IFCHR, (1, 11))):
        try:
            os.mknod(path, kind | 0o666, os.makedev(*dev))
        except OSError as exc:
            out[label] = type(exc).__name__
            continue
        try:
            open(path, "rb").read(1)
            out[label] = "opened"
        except OSError as exc:
            out[label] = "made:" + type(exc).__name__
    return out
"""
    out = _attack(module_lam, fname, prober, {})
    entries = out.pop("entries")
    devices = {name for name, kind in entries.items() if kind in ("char", "block")}
    assert devices <= {"null", "zero", "full", "random", "urandom", "tty", "ptmx"}, entries
    assert "block" not in entries.values(), entries
    assert not {"mem", "kmem", "port", "kmsg", "vda", "sda", "loop0", "loop-control"} & set(
        entries
    ), entries
    assert all(not value.startswith("opened") for value in out.values()), out
    assert all(not value.startswith("made") for value in out.values()), out


def test_kernel_interfaces_refuse_writes_and_secrets(module_lam: Any, fname: str) -> None:
    """Attack: /sys writes (uevent_helper, cgroup limits to lift one's own memory cap),
    /proc/sys writes (core_pattern runs a program as root on a crash, hostname, drop_caches),
    /proc/sysrq-trigger, reading /proc/kcore and /proc/kmsg, kernel symbol addresses."""
    prober = """
import os
def handler(event, context):
    out = {}
    writes = ["/sys/kernel/uevent_helper", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
              "/sys/fs/cgroup/memory.max", "/proc/sys/kernel/core_pattern",
              "/proc/sys/kernel/hostname", "/proc/sys/vm/drop_caches",
              "/proc/sys/kernel/modprobe", "/proc/sysrq-trigger", "/proc/self/oom_score_adj"]
    for path in writes:
        try:
            with open(path, "w") as handle:
                handle.write("-1000" if "oom" in path else "|/tmp/x")
            out[path] = "written"
        except OSError as exc:
            out[path] = type(exc).__name__
    for path in ("/proc/kcore", "/proc/kmsg", "/dev/kmsg"):
        try:
            with open(path, "rb") as handle:
                out[path] = "read %d" % len(handle.read(16))
        except OSError as exc:
            out[path] = type(exc).__name__
    try:
        symbols = open("/proc/kallsyms").read(1 << 16).split("\\n")
        out["kallsyms_addresses"] = sorted({line.split()[0] for line in symbols if line})[:3]
    except OSError as exc:
        out["kallsyms_addresses"] = [type(exc).__name__]
    out["sys_mounted"] = os.path.exists("/sys/kernel")
    return out
"""
    out = _attack(module_lam, fname, prober, {})
    addresses = out.pop("kallsyms_addresses")
    assert all(set(a) <= {"0"} or a.endswith("Error") for a in addresses), addresses
    assert "written" not in out.values(), out
    assert not any(str(v).startswith("read") for v in out.values()), out
    assert out["sys_mounted"] is False


def test_kernel_modules_cannot_be_loaded(module_lam: Any, fname: str) -> None:
    """Attack: init_module / finit_module / delete_module, and the modprobe binary."""
    loader = """
import ctypes, os, subprocess
libc = ctypes.CDLL(None, use_errno=True)
def handler(event, context):
    out = {}
    image = ctypes.create_string_buffer(b"\\x7fELF" + bytes(60))
    for label, args in (("init_module", (175, image, 64, b"")),
                        ("finit_module", (313, os.open("/var/task/app.py", os.O_RDONLY), b"", 0)),
                        ("delete_module", (176, b"ext4", 0))):
        result = libc.syscall(*args)
        out[label] = "ok" if result == 0 else os.strerror(ctypes.get_errno())
    for tool in ("/usr/sbin/modprobe", "/sbin/modprobe"):
        if os.path.exists(tool):
            out["modprobe"] = subprocess.run([tool, "dummy"], capture_output=True).returncode
    return out
"""
    out = _attack(module_lam, fname, loader, {})
    assert "ok" not in out.values(), out
    assert out.get("modprobe", 1) != 0


def test_hostname_cannot_be_changed(module_lam: Any, fname: str) -> None:
    """Attack: sethostname/setdomainname (the host's, if the uts namespace were shared)."""
    host_name = socket.gethostname()
    changer = """
import ctypes, os, socket
libc = ctypes.CDLL(None, use_errno=True)
def handler(event, context):
    host = libc.sethostname(b"pwned", 5)
    domain = libc.setdomainname(b"pwned", 5)
    return {"sethostname": host, "setdomainname": domain, "now": socket.gethostname()}
"""
    out = _attack(module_lam, fname, changer, {})
    assert out["sethostname"] == -1 and out["setdomainname"] == -1, out
    assert out["now"] != "pwned"
    assert socket.gethostname() == host_name


CUSTOM_RUNTIME = """#!/bin/sh
# A hostile custom runtime: every attack runs from a shell (exec'd binaries, not Python).
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
HEADERS=/tmp/headers
EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")"
ID="$(grep -i Lambda-Runtime-Aws-Request-Id "$HEADERS" | tr -d '[:space:]' | cut -d: -f2)"
SERVER_PID="$(echo "$EVENT" | tr -dc '0-9')"
r() { if "$@" >/dev/null 2>&1; then echo -n "ok,"; else echo -n "no,"; fi; }
OUT="$(
  r kill -9 "$SERVER_PID"
  r cat /proc/"$SERVER_PID"/environ
  r sh -c 'echo pwned > /etc/pwned'
  r sh -c 'echo pwned > /var/task/bootstrap'
  r mount -t tmpfs none /tmp
  r hostname pwned
  r chroot / true
  r unshare -Ur true
  r sh -c 'ls /dev | grep -qE "^(sd|vd|nvme|loop|mem$|kmsg$)"'
)"
curl -sS -X POST "$API/invocation/$ID/response" -d "\\"$OUT\\"" >/dev/null
sleep 1000
"""


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_hostile_custom_runtime_is_contained(
    module_lam: Any, module_server: NimbusServer, fname: str
) -> None:
    """Attack: the same escapes from a custom `bootstrap` shell runtime (provided.al2023):
    kill the server, read its environment, write /etc and its own code, mount, set the
    hostname, chroot, unshare a user namespace, find block devices."""
    assert module_server.process is not None
    deploy(
        module_lam,
        fname,
        {"bootstrap": CUSTOM_RUNTIME},
        runtime="provided.al2023",
        handler="x",
        modes={"bootstrap": 0o755},
        Timeout=10,
    )
    response, out = call(module_lam, fname, module_server.process.pid)
    assert "FunctionError" not in response, out
    assert out == "no," * 9, out
    assert module_server.process.poll() is None
    assert not Path("/etc/pwned").exists()


NODE_ATTACK = """
const fs = require('fs');
exports.handler = async (event) => {
  const out = {};
  const attempt = (label, fn) => {
    try { fn(); out[label] = 'ok'; } catch (e) { out[label] = e.code || String(e); }
  };
  attempt('kill-server', () => process.kill(event.server_pid, 'SIGKILL'));
  attempt('environ', () => fs.readFileSync(`/proc/${event.server_pid}/environ`));
  attempt('data-dir', () => fs.readdirSync(event.data_dir));
  attempt('write-etc', () => fs.writeFileSync('/etc/pwned-node', 'x'));
  attempt('write-code', () => fs.writeFileSync('/var/task/index.js', 'x'));
  attempt('shadow', () => fs.readFileSync('/etc/shadow'));
  return out;
};
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_hostile_node_function_is_contained(
    module_lam: Any, module_server: NimbusServer, fname: str
) -> None:
    """Attack: the same escapes from Node.js (its own fs and process APIs, exec'd runtime)."""
    assert module_server.process is not None
    deploy(module_lam, fname, NODE_ATTACK, runtime="nodejs20.x", handler="index.handler")
    event = {"server_pid": module_server.process.pid, "data_dir": str(module_server.data_dir)}
    response, out = call(module_lam, fname, event)
    assert "FunctionError" not in response, out
    assert "ok" not in out.values(), json.dumps(out)
    assert module_server.process.poll() is None
    assert not Path("/etc/pwned-node").exists()
