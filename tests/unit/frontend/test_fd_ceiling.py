"""Where the server's descriptor reserve starts (pure)."""

from __future__ import annotations

import resource

from nimbus.frontend.http_protocol import descriptor_ceiling


def test_the_reserve_is_kept_below_the_soft_limit() -> None:
    # Descriptors 0..19999 exist under a limit of 20,000; 256 of them stay free.
    assert descriptor_ceiling(20_000, 256) == 20_000 - 1 - 256


def test_a_low_limit_keeps_at_most_a_quarter_in_reserve() -> None:
    assert descriptor_ceiling(400, 256) == 399 - 100


def test_no_limit_means_no_check() -> None:
    assert descriptor_ceiling(resource.RLIM_INFINITY, 256) is None
    assert descriptor_ceiling(1024, 0) == 1023
