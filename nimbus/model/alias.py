"""An alias: a named pointer to a published version, optionally splitting traffic with one
more version by weight (AWS's weighted aliases, for canary and linear deployments)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class AliasTarget:
    """Where an alias sends invocations: ``version``, except for the share of calls each
    entry of ``weights`` (version -> fraction in [0, 1]) takes."""

    version: str
    weights: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Alias:
    function: str
    name: str
    target: AliasTarget
    description: str = ""
    revision_id: str = ""

    def uses(self, version: str) -> bool:
        """Whether invocations through this alias can run ``version``."""
        return self.target.version == version or version in self.target.weights
