"""The Init phase's rules (pure): how long it may run, and whether a failed Init is retried.

AWS limits Init to 10 s for on-demand environments; one that fails or overruns is retried
once inside the first invocation, within the function's timeout (a "suppressed init": the
INIT_REPORT lines say ``Phase: invoke``). Provisioned-concurrency environments are
initialised ahead of any invocation and may take 130 s or the function's timeout, whichever is
longer; there is no invocation to retry them in.
"""

from __future__ import annotations

from nimbus.model.invocation import EnvironmentSpec

ON_DEMAND_LIMIT_S = 10.0
PROVISIONED_LIMIT_S = 130.0


def init_limit_s(spec: EnvironmentSpec, on_demand_s: float = ON_DEMAND_LIMIT_S) -> float:
    """How long the Init phase of an environment built from ``spec`` may run."""
    if spec.initialization_type == "provisioned-concurrency":
        return max(PROVISIONED_LIMIT_S, float(spec.timeout_s))
    return on_demand_s


def retried_in_invoke(spec: EnvironmentSpec) -> bool:
    """Whether a failed Init is run again by the invocation that triggered the cold start."""
    return spec.initialization_type != "provisioned-concurrency"
