from __future__ import annotations

from nimbus.dataplane.credential_policy import MARGIN_S, usable


def test_credentials_must_outlast_the_timeout_plus_the_margin() -> None:
    now = 1_000.0
    # 3 s timeout: usable while more than 303 s remain.
    assert usable(now + 3 + MARGIN_S + 1, now=now, timeout_s=3)
    assert not usable(now + 3 + MARGIN_S, now=now, timeout_s=3)
    # The same credentials are too old for a 15-minute function.
    assert not usable(now + 3 + MARGIN_S + 1, now=now, timeout_s=900)


def test_expired_credentials_are_never_usable() -> None:
    assert not usable(999.0, now=1_000.0, timeout_s=1)


def test_an_environment_without_role_credentials_is_not_retired_for_them() -> None:
    assert usable(None, now=1_000.0, timeout_s=900)
