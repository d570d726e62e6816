"""A file the sandbox's root cannot take (its /etc/resolv.conf) is said in the function's log,
not skipped silently (issue 11 review of f6ce8b3, item 7): the sandbox would run without a
resolver and nobody would know why."""

from __future__ import annotations

from pathlib import Path

import pytest

from nimbus.worker.sandbox.enter import _file_in_root


def test_a_file_is_made_inside_the_root(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "etc").mkdir()
    found = _file_in_root(str(tmp_path), "/etc/resolv.conf")
    assert found == f"{tmp_path}/etc/resolv.conf" and Path(found).is_file()
    assert capfd.readouterr().err == ""


def test_a_loop_of_symlinks_is_reported(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "resolv.conf").symlink_to("/etc/resolv.conf")  # itself, inside the root
    assert _file_in_root(str(tmp_path), "/etc/resolv.conf") is None
    err = capfd.readouterr().err
    assert "/etc/resolv.conf is not provided" in err and "loop" in err


def test_a_parent_outside_the_root_is_reported(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "root" / "etc").symlink_to(tmp_path / "elsewhere")  # the host's side
    assert _file_in_root(str(tmp_path / "root"), "/etc/resolv.conf") is None
    assert not (tmp_path / "elsewhere" / "resolv.conf").exists()
    assert "is not provided" in capfd.readouterr().err
