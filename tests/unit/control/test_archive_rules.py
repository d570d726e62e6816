"""The pure zip rules: counting central-directory entries cheaply, and extractable layouts."""

from __future__ import annotations

import io
import zipfile

from nimbus.control.archive_rules import (
    MAX_DEPTH,
    central_directory_entries,
    layout_problem,
)


def _zip(names: list[str], *, zip64: bool = False, prefix: bytes = b"") -> bytes:
    buffer = io.BytesIO()
    buffer.write(prefix)
    with zipfile.ZipFile(buffer, "w", allowZip64=True) as archive:
        for name in names:
            if zip64:
                with archive.open(name, "w", force_zip64=True) as handle:
                    handle.write(b"x")
            else:
                archive.writestr(name, b"x")
    return buffer.getvalue()


def test_counts_the_entries_of_real_archives() -> None:
    assert central_directory_entries(_zip(["a", "b/c", "d"])) == 3
    assert central_directory_entries(_zip([])) == 0
    # A self-extractor: bytes before the zip do not move the directory zipfile reads.
    assert central_directory_entries(_zip(["a", "b"], prefix=b"#!/bin/sh\n" * 50)) == 2


def test_counts_a_zip64_directory() -> None:
    data = _zip(["a", "b"], zip64=True)
    assert central_directory_entries(data) == 2


def test_stops_counting_past_the_limit() -> None:
    data = _zip([str(n) for n in range(50)])
    assert central_directory_entries(data, limit=10) == 11
    assert central_directory_entries(data, limit=50) == 50


def test_ignores_a_lying_entry_count_in_the_end_record() -> None:
    data = bytearray(_zip(["a", "b", "c"]))
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = b"\x01\x00\x01\x00"  # "1 entry" on this disk and in total
    assert central_directory_entries(bytes(data)) == 3


def test_unwalkable_directories_are_left_to_zipfile() -> None:
    assert central_directory_entries(b"") is None
    assert central_directory_entries(b"not a zip at all") is None
    end_only = b"PK\x05\x06" + bytes(8) + (46).to_bytes(4, "little") + bytes(6)
    assert central_directory_entries(end_only) is None  # directory before the data start
    garbage = b"x" * 46 + end_only
    assert central_directory_entries(garbage) is None  # no central header signature


def test_ordinary_layouts_are_fine() -> None:
    assert layout_problem([("app.py", False), ("lib/", True), ("lib/x.py", False)]) is None
    assert layout_problem([("lib/x.py", False), ("lib/", True)]) is None  # any order
    # Sanitised as zipfile extracts them: inside the package, so not a problem.
    assert layout_problem([("../../etc/x", False), ("/abs/y", False), ("./z", False)]) is None
    assert layout_problem([("dup", False), ("dup", False)]) is None  # the last one wins
    assert layout_problem([("./", True), ("/", True)]) is None


def test_a_file_that_another_entry_lies_inside_is_refused() -> None:
    # The zip-symlink write: `evil` (a link, i.e. not a directory) then `evil/pwned`.
    problem = layout_problem([("evil", False), ("evil/pwned", False)])
    assert problem == "entry 'evil/pwned' needs 'evil' to be a directory, but it is a file"
    assert layout_problem([("a/b/c", False), ("a/b", False)]) is not None
    assert layout_problem([("a", False), ("a/", True)]) is not None
    # zipfile drops `..` without resolving it: `x/../a` is extracted as `x/a`.
    assert layout_problem([("x/../a", False), ("x/a/b", False)]) is not None


def test_names_that_cannot_be_extracted_are_refused() -> None:
    assert layout_problem([("..", False)]) == "entry '..' names no file"
    assert layout_problem([("a/" + "n" * 256, False)]) is not None
    assert layout_problem([("a/" + "n" * 255, False)]) is None
    assert layout_problem([("d/" * MAX_DEPTH + "f", False)]) is not None
    assert layout_problem([("d/" * (MAX_DEPTH - 1) + "f", False)]) is None
    assert layout_problem([("é" * 128, False)]) is not None  # 256 bytes of UTF-8
    assert layout_problem([(("n" * 200 + "/") * 20 + "f", False)]) is not None  # 4,021 bytes
