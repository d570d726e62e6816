"""A cold start that ran out of file descriptors is a throttle (429), not a 500."""

from __future__ import annotations

import errno

from nimbus.dataplane.placement import out_of_descriptors


def test_emfile_and_enfile_are_a_shortage_of_descriptors() -> None:
    assert out_of_descriptors(OSError(errno.EMFILE, "Too many open files"))
    assert out_of_descriptors(OSError(errno.ENFILE, "Too many open files in system"))


def test_a_shortage_is_found_behind_the_errors_that_wrap_it() -> None:
    try:
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError as inner:
            raise RuntimeError("zygote spawn failed") from inner
    except RuntimeError as outer:
        assert out_of_descriptors(outer)


def test_other_errors_are_not() -> None:
    assert not out_of_descriptors(OSError(errno.ENOENT, "No such file"))
    assert not out_of_descriptors(ValueError("x"))
