"""Weighted alias routing, decided purely: which version one invocation through an alias runs.

AWS routes each invocation independently: with ``AdditionalVersionWeights {"2": 0.1}`` about
one call in ten runs version 2 and the rest the alias's primary version.
"""

from __future__ import annotations

from nimbus.model.alias import AliasTarget


def pick_version(target: AliasTarget, draw: float) -> str:
    """The version to run for a uniform ``draw`` in [0, 1): each additional version takes the
    slice of [0, 1) its weight covers (in version order), the primary version the rest."""
    edge = 0.0
    for version, weight in sorted(target.weights.items(), key=lambda item: int(item[0])):
        edge += weight
        if draw < edge:
            return version
    return target.version
