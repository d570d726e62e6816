from __future__ import annotations

import random

import pytest

from nimbus.control.routing import pick_version
from nimbus.model.alias import AliasTarget


def test_no_weights_always_primary() -> None:
    target = AliasTarget(version="3")
    for draw in (0.0, 0.5, 0.999999):
        assert pick_version(target, draw) == "3"


@pytest.mark.parametrize(
    ("draw", "expected"),
    [(0.0, "2"), (0.099, "2"), (0.1, "1"), (0.5, "1"), (0.9999, "1")],
)
def test_additional_version_takes_its_weight_from_the_bottom(draw: float, expected: str) -> None:
    assert pick_version(AliasTarget(version="1", weights={"2": 0.1}), draw) == expected


def test_zero_weight_never_routes_and_full_weight_always_does() -> None:
    assert pick_version(AliasTarget(version="1", weights={"2": 0.0}), 0.0) == "1"
    assert pick_version(AliasTarget(version="1", weights={"2": 1.0}), 0.999999) == "2"


def test_share_converges_to_the_weight() -> None:
    rng = random.Random(7)
    target = AliasTarget(version="1", weights={"2": 0.25})
    picks = [pick_version(target, rng.random()) for _ in range(20_000)]
    assert abs(picks.count("2") / len(picks) - 0.25) < 0.02
