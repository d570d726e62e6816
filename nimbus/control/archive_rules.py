"""Pure rules for a deployment package's zip: how much work reading it may cost the server,
and whether its names can be extracted as they are written.

The server reads every uploaded zip as root. AWS bounds a package by its sizes (50 MB zipped,
250 MB unzipped), which an archive only *declares*: a bomb declares its sizes truthfully and
is refused before anything is inflated; an archive that understates them fails its CRC check
(zipfile stops reading an entry at its declared size). AWS documents no limit on the number of
entries, but parsing a central directory costs the server about 0.5 KB of memory and 10 µs an
entry before any size is known: 50 MB of zip can hold ~600,000 empty entries (seconds of CPU
and ~300 MB), and extracting them as many inodes. So the entries are counted from the central
directory's raw headers first, stopping at the limit, and only then parsed.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

# Far beyond a real package: 250 MB of site-packages or node_modules is 20,000-40,000 files.
MAX_ENTRIES = 100_000
# Linux refuses a path component longer than NAME_MAX (255 bytes) and a path longer than
# PATH_MAX (4,096 bytes, including /var/task/ or the extraction directory on the host).
MAX_COMPONENT_BYTES = 255
MAX_NAME_BYTES = 3_840
# Directories are created recursively at extraction; deeper than any real tree.
MAX_DEPTH = 128

_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_CENTRAL = b"PK\x01\x02"
_EOCD_SIZE = 22
_EOCD64_SIZE = 56
_LOCATOR_SIZE = 20
_CENTRAL_SIZE = 46
_MAX_COMMENT = 0xFFFF


def central_directory_entries(data: bytes, *, limit: int = MAX_ENTRIES) -> int | None:
    """How many entries the central directory of ``data`` holds, counted from the raw headers
    and stopping once past ``limit`` (so the answer is at most ``limit + 1``). None when the
    directory cannot be walked: zipfile then reports the archive as corrupt.

    The count field of the end record is not trusted (zipfile ignores it too and reads the
    directory by its size); the directory is located from the end of the data, as zipfile
    does, so a package with bytes prepended (a self-extractor) is counted correctly.
    """
    eocd = data.rfind(_EOCD, max(0, len(data) - _EOCD_SIZE - _MAX_COMMENT))
    if eocd < 0 or eocd + _EOCD_SIZE > len(data):
        return None
    cd_size: int = struct.unpack_from("<L", data, eocd + 12)[0]
    end = eocd
    locator = eocd - _LOCATOR_SIZE
    record = locator - _EOCD64_SIZE
    if record >= 0 and data[locator : locator + 4] == _EOCD64_LOCATOR:
        if data[record : record + 4] != _EOCD64:
            return None
        cd_size = struct.unpack_from("<Q", data, record + 40)[0]
        end = record
    position = end - cd_size
    if position < 0:
        return None
    count = 0
    while position < end:
        if data[position : position + 4] != _CENTRAL or position + _CENTRAL_SIZE > end:
            return None
        name_len, extra_len, comment_len = struct.unpack_from("<3H", data, position + 28)
        position += _CENTRAL_SIZE + name_len + extra_len + comment_len
        count += 1
        if count > limit:
            return count
    return count


def _parts(name: str) -> list[str]:
    """The path ``name`` is extracted to, as zipfile computes it: absolute prefixes, empty
    components, `.` and `..` are dropped (so `../../etc/x` lands at `etc/x`, inside)."""
    return [part for part in name.replace("\\", "/").split("/") if part not in ("", ".", "..")]


def layout_problem(entries: Iterable[tuple[str, bool]]) -> str | None:
    """Why the (name, is_directory) entries cannot be extracted as written, or None.

    Refused: a file entry with no path left once sanitised (`..`), names beyond the kernel's
    limits or too deep, and an entry inside another entry that is a file or a symlink. That
    last one is the zip-symlink write: `evil -> /etc` then `evil/cron.d/x` writes through the
    link as root in an extractor that creates links; an extractor that does not fails halfway.
    """
    files: set[tuple[str, ...]] = set()
    parents: dict[tuple[str, ...], str] = {}
    for name, is_dir in entries:
        parts = _parts(name)
        if not parts:
            if is_dir:
                continue
            return f"entry '{name}' names no file"
        if len(name.encode()) > MAX_NAME_BYTES or len(parts) > MAX_DEPTH:
            return f"entry '{name[:80]}...' is too long or too deep"
        if any(len(part.encode()) > MAX_COMPONENT_BYTES for part in parts):
            return f"entry '{name[:80]}' has a path component longer than 255 bytes"
        path = tuple(parts)
        for depth in range(1, len(path) + is_dir):
            parents.setdefault(path[:depth], name)
        if not is_dir:
            files.add(path)
    for path in files:
        if path in parents:
            inner = parents[path]
            return f"entry '{inner}' needs '{'/'.join(path)}' to be a directory, but it is a file"
    return None
