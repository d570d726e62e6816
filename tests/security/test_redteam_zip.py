"""Red team: hostile deployment packages (zip uploads) against a real server.

A zip is the first thing a tenant hands the server, and the server (running as root) reads
and extracts it: symlinks, `..` names, absolute names, bombs, huge directories and corrupt
archives must neither reach files outside the package nor cost the server more than a bounded
amount of work. Each attack either is refused with AWS's error (InvalidParameterValueException,
HTTP 400, as Lambda answers CreateFunction) or is contained.
"""

from __future__ import annotations

import functools
import io
import os
import stat
import struct
import time
import uuid
import zipfile
import zlib
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.integration.invoke.helpers import call, deploy
from tests.support import NimbusServer, create_function, error_of, make_zip

UNZIPPED_LIMIT_MESSAGE = "Unzipped size must be smaller than 262144000 bytes"
HANDLER = "def handler(event, context):\n    return 'ok'\n"

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="namespaces isolation needs root")


# --- raw zip building: what zipfile refuses to write, an attacker writes by hand -------------


def _local_header(
    name: bytes, *, method: int, crc: int, csize: int, usize: int, flags: int = 0
) -> bytes:
    return (
        struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, flags, method, 0, 0, crc, csize, usize, len(name), 0
        )
        + name
    )


def _central_header(
    name: bytes, *, method: int, crc: int, csize: int, usize: int, offset: int, flags: int = 0
) -> bytes:
    return (
        struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            20,
            20,
            flags,
            method,
            0,
            0,
            crc,
            csize,
            usize,
            len(name),
            0,
            0,
            0,
            0,
            0o644 << 16,
            offset,
        )
        + name
    )


def _end_record(entries: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, entries, entries, cd_size, cd_offset, 0)


def _raw_zip(members: list[tuple[bytes, bytes, int, int, int]], *, flags: int = 0) -> bytes:
    """A zip of (name, stored data, method, crc, declared size) members, written verbatim."""
    body = b""
    central = b""
    for name, data, method, crc, usize in members:
        central += _central_header(
            name,
            method=method,
            crc=crc,
            csize=len(data),
            usize=usize,
            offset=len(body),
            flags=flags,
        )
        body += (
            _local_header(name, method=method, crc=crc, csize=len(data), usize=usize, flags=flags)
            + data
        )
    return body + central + _end_record(len(members), len(central), len(body))


@functools.cache
def _deflated_zeros(mb: int) -> tuple[bytes, int]:
    """``mb`` MB of zeros, raw-deflated (about 1,000:1), and their CRC-32."""
    chunk = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    parts = [compressor.compress(chunk) for _ in range(mb)]
    parts.append(compressor.flush())
    crc = 0
    for _ in range(mb):
        crc = zlib.crc32(chunk, crc)
    return b"".join(parts), crc


def _refused(lam: Any, name: str, code: bytes) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as exc:
        create_function(lam, name, code=code)
    return error_of(exc)


def _symlink_zip(files: dict[str, str], links: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
        for name, target in links.items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            info.create_system = 3  # Unix: the mode bits are meaningful, as `zip --symlinks`
            archive.writestr(info, target)
    return buffer.getvalue()


def _wait_settled(lam: Any, name: str) -> dict[str, Any]:
    """The configuration once it has left Pending (bounded: 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        config: dict[str, Any] = lam.get_function_configuration(FunctionName=name)
        if config["State"] != "Pending" or time.monotonic() > deadline:
            return config
        time.sleep(0.02)


# --- the attacks -------------------------------------------------------------------------


@needs_root
def test_symlinks_to_host_files_give_no_access_to_them(
    module_lam: Any, module_server: NimbusServer, fname: str
) -> None:
    """Attack: the package holds symlinks to /etc/shadow and to the server's own database, so
    that extraction (as root) copies or chmods them, or the function follows them at run
    time."""
    database = module_server.data_dir / "nimbus.db"
    assert database.exists()
    reader = """
def handler(event, context):
    out = {}
    for name in ("shadow", "database"):
        try:
            with open("/var/task/" + name, "rb") as handle:
                out[name] = handle.read(4096).decode("latin-1")
        except OSError as exc:
            out[name] = "error: " + type(exc).__name__
    return out
"""
    # An extractor that made the links and then chmod-ed every entry "readable by the
    # function" would follow them and chmod the host's files instead, as root.
    modes = {path: path.stat().st_mode for path in (Path("/etc/shadow"), database)}
    code = _symlink_zip({"app.py": reader}, {"shadow": "/etc/shadow", "database": str(database)})
    create_function(module_lam, fname, code=code)
    assert _wait_settled(module_lam, fname)["State"] == "Active"
    response, out = call(module_lam, fname, {})
    assert "FunctionError" not in response, out
    shadow_head = Path("/etc/shadow").read_text().split(":", 1)[0]
    assert shadow_head not in out["shadow"].replace("/etc/shadow", ""), out
    assert "SQLite format 3" not in out["database"], out
    assert {path: path.stat().st_mode for path in modes} == modes


def test_a_symlinked_directory_cannot_redirect_extraction_outside(
    module_lam: Any, tmp_path: Path, fname: str
) -> None:
    """Attack (the classic zip-symlink write): entry `evil` is a symlink to a host directory,
    and a later entry `evil/pwned` would be written through it by a naive extractor as root."""
    target = tmp_path / "host-dir"
    target.mkdir()
    code = _symlink_zip({"app.py": HANDLER, "evil/pwned": "owned"}, {"evil": str(target)})
    # The link must come before the file that goes through it.
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(code)) as source, zipfile.ZipFile(buffer, "w") as out:
        infos = sorted(source.infolist(), key=lambda i: i.filename != "evil")
        for info in infos:
            out.writestr(info, source.read(info))
    try:
        create_function(module_lam, fname, code=buffer.getvalue())
        _wait_settled(module_lam, fname)
    except ClientError as exc:
        assert exc.response["Error"]["Code"] == "InvalidParameterValueException"
    assert list(target.iterdir()) == []


def test_zip_slip_and_absolute_names_stay_inside_the_package(
    module_lam: Any, module_server: NimbusServer, fname: str
) -> None:
    """Attack (zip-slip): entries named `../../../../tmp/X` and `/tmp/Y` that a naive
    extractor writes outside its target directory — here, into the server's host /tmp."""
    marker = f"nimbus-redteam-{uuid.uuid4().hex}"
    slip = "../" * 12 + f"tmp/{marker}-slip"
    absolute = f"/tmp/{marker}-abs"
    lister = """
import os
def handler(event, context):
    return sorted(os.path.relpath(os.path.join(d, f), "/var/task")
                  for d, _, files in os.walk("/var/task") for f in files)
"""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("app.py", lister)
        archive.writestr(slip, "slipped")
        archive.writestr(absolute, "absolute")
    try:
        create_function(module_lam, fname, code=buffer.getvalue())
    except ClientError as exc:  # refusing the archive is containment too
        assert exc.response["Error"]["Code"] == "InvalidParameterValueException"
    else:
        assert _wait_settled(module_lam, fname)["State"] == "Active"
        response, files = call(module_lam, fname, {})
        assert "FunctionError" not in response, files
        assert all(not name.startswith("..") for name in files), files
    for root in (Path("/tmp"), module_server.data_dir, module_server.data_dir.parent):
        assert not list(root.glob(f"{marker}*")), root
    leaked = [p for p in module_server.data_dir.rglob(f"{marker}*") if "code" not in p.parts]
    assert leaked == [], leaked


def test_zip_bomb_is_refused_before_it_is_inflated(module_lam: Any, fname: str) -> None:
    """Attack (zip bomb): 4 MB of upload declaring 4 GB unzipped (200 entries of 20 MB of
    zeros). AWS refuses anything over 250 MB unzipped; the server must refuse it from the
    sizes the archive declares, not after inflating 4 GB (25 s of a core per request here)."""
    data, crc = _deflated_zeros(20)
    members = [(b"app.py", HANDLER.encode(), 0, zlib.crc32(HANDLER.encode()), len(HANDLER))]
    members += [(f"zeros{n}.bin".encode(), data, 8, crc, 20 << 20) for n in range(200)]
    bomb = _raw_zip(members)
    assert len(bomb) < 5 << 20
    started = time.monotonic()
    code, status, message = _refused(module_lam, fname, bomb)
    elapsed = time.monotonic() - started
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert UNZIPPED_LIMIT_MESSAGE in message
    assert elapsed < 3.0, f"refusing the bomb took {elapsed:.1f} s"


def test_zip_bomb_with_overlapping_entries_is_refused(module_lam: Any, fname: str) -> None:
    """Attack (overlapping-entries bomb, Fifield 2019): many central-directory entries that
    all point at the same compressed data, so 20 KB of deflate declare 4 GB."""
    data, crc = _deflated_zeros(20)
    local = _local_header(b"zeros.bin", method=8, crc=crc, csize=len(data), usize=20 << 20)
    body = local + data
    central = b"".join(
        _central_header(b"zeros.bin", method=8, crc=crc, csize=len(data), usize=20 << 20, offset=0)
        for _ in range(200)
    )
    bomb = body + central + _end_record(200, len(central), len(body))
    started = time.monotonic()
    code, status, _ = _refused(module_lam, fname, bomb)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert time.monotonic() - started < 3.0


def test_zip_whose_headers_understate_its_size_is_refused(module_lam: Any, fname: str) -> None:
    """Attack (lying sizes): an entry declares 100 bytes but its deflate stream inflates to
    20 MB, to slip under the unzipped-size check and fill the disk at extraction."""
    data, crc = _deflated_zeros(20)
    members = [
        (b"app.py", HANDLER.encode(), 0, zlib.crc32(HANDLER.encode()), len(HANDLER)),
        (b"liar.bin", data, 8, crc, 100),
    ]
    code, status, _ = _refused(module_lam, fname, _raw_zip(members))
    assert (code, status) == ("InvalidParameterValueException", 400)


def test_zip_with_too_many_entries_is_refused_quickly(
    module_lam: Any, module_server: NimbusServer, fname: str
) -> None:
    """Attack: 150,000 empty entries in 9 MB (a zip's central directory costs ~50 bytes an
    entry), so that parsing it costs the server seconds and ~100 MB, and extracting it
    hundreds of thousands of inodes. The server refuses it from the central directory alone."""
    local = (
        _local_header(
            b"app.py",
            method=0,
            crc=zlib.crc32(HANDLER.encode()),
            csize=len(HANDLER),
            usize=len(HANDLER),
        )
        + HANDLER.encode()
    )
    entry = functools.partial(_central_header, method=0, crc=0, csize=0, usize=0, offset=0)
    central = b"".join(entry(f"{n:06d}".encode()) for n in range(150_000))
    crowd = local + central + _end_record(0xFFFF, len(central), len(local))
    started = time.monotonic()
    code, status, message = _refused(module_lam, fname, crowd)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert "entries" in message
    assert time.monotonic() - started < 3.0
    assert module_lam.get_account_settings()["AccountUsage"] is not None  # server still fine


def _corrupt_deflate() -> bytes:
    payload = os.urandom(20_000)
    data = zlib.compress(payload)[2:-4]  # raw deflate
    broken = bytearray(data)
    for index in range(100, len(broken), 97):
        broken[index] ^= 0xFF
    return _raw_zip([(b"app.py", bytes(broken), 8, zlib.crc32(payload), len(payload))])


def _truncated() -> bytes:
    return make_zip({"app.py": HANDLER, "pad.bin": os.urandom(10_000)})[:-300]


def _encrypted() -> bytes:
    # Flag bit 0: "encrypted" (traditional PKWARE); the server has no password to give.
    return _raw_zip([(b"app.py", os.urandom(200), 0, 0, 188)], flags=1)


def _unknown_method() -> bytes:
    return _raw_zip([(b"app.py", HANDLER.encode(), 99, zlib.crc32(HANDLER.encode()), len(HANDLER))])


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(lambda: os.urandom(4096), id="random-bytes"),
        pytest.param(lambda: _end_record(1, 46, 1 << 20), id="directory-beyond-the-end"),
        pytest.param(_truncated, id="truncated"),
        pytest.param(_corrupt_deflate, id="corrupt-deflate-stream"),
        pytest.param(_encrypted, id="encrypted-entry"),
        pytest.param(_unknown_method, id="unknown-compression-method"),
    ],
)
def test_corrupted_zips_are_refused_with_aws_error(
    module_lam: Any, fname: str, archive: Any
) -> None:
    """Attack: archives that break an unzipper in every way it can break (bad structure, bad
    deflate data, encryption, an unknown method), hoping for a 500 or a crashed worker."""
    code, status, message = _refused(module_lam, fname, archive())
    assert (code, status) == ("InvalidParameterValueException", 400), message
    assert message.startswith("Could not unzip uploaded file")


def test_update_function_code_checks_archives_as_create_does(module_lam: Any, fname: str) -> None:
    """Attack: create a harmless function, then swap in a bomb through UpdateFunctionCode."""
    deploy(module_lam, fname, HANDLER)
    data, crc = _deflated_zeros(20)
    bomb = _raw_zip([(f"z{n}".encode(), data, 8, crc, 20 << 20) for n in range(200)])
    with pytest.raises(ClientError) as exc:
        module_lam.update_function_code(FunctionName=fname, ZipFile=bomb)
    code, status, message = error_of(exc)
    assert (code, status) == ("InvalidParameterValueException", 400)
    assert UNZIPPED_LIMIT_MESSAGE in message
    assert call(module_lam, fname, {})[1] == "ok"


def _tiny_elf_exiting_with_euid() -> bytes:
    """A static x86-64 ELF whose exit status is geteuid() & 0xff (no libc, 129 bytes)."""
    code = bytes.fromhex("b86b0000000f0589c7b83c0000000f05")  # geteuid; exit(eax)
    base = 0x400000
    entry = base + 64 + 56
    header = struct.pack(
        "<4s5B7x2HI3QI6H",
        b"\x7fELF",
        2,
        1,
        1,
        0,
        0,  # 64-bit, little-endian, version 1, System V
        2,
        0x3E,
        1,
        entry,
        64,
        0,  # ET_EXEC, x86-64, version, entry, phoff, shoff
        0,
        64,
        56,
        1,
        0,
        0,
        0,  # flags, ehsize, phentsize, phnum, shentsize, shnum, shstrndx
    )
    size = 64 + 56 + len(code)
    program = struct.pack("<2I6Q", 1, 5, 0, base, base, size, size, 0x1000)  # PT_LOAD, R+X
    return header + program + code


@needs_root
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the probe binary is x86-64 code")
def test_setuid_root_binary_from_the_zip_runs_without_privilege(
    module_lam: Any, fname: str
) -> None:
    """Attack: the package carries a binary with mode 4755; the server extracts it as root,
    so it would be a setuid-root binary the function then executes to become root."""
    runner = """
import os, stat, subprocess
def handler(event, context):
    mode = os.stat("/var/task/suid").st_mode
    status = subprocess.run(["/var/task/suid"]).returncode
    return {"setuid_bit": bool(mode & stat.S_ISUID), "setgid_bit": bool(mode & stat.S_ISGID),
            "exit": status, "euid": os.geteuid()}
"""
    deploy(
        module_lam,
        fname,
        {"app.py": runner, "suid": _tiny_elf_exiting_with_euid()},
        modes={"suid": 0o6755},
    )
    response, out = call(module_lam, fname, {})
    assert "FunctionError" not in response, out
    assert out["exit"] == out["euid"] & 0xFF != 0, out  # the binary ran as the function
    assert out["setuid_bit"] is False and out["setgid_bit"] is False, out
