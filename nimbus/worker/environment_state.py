"""An execution environment's lifecycle (pure).

CREATING (sandbox being built) -> INITIALIZING (Init phase: handler import) -> READY (idle,
warm) <-> BUSY (one invocation at a time, as Lambda) -> DEAD. An Init failure leaves the
environment INIT_FAILED: its first invoke reports the error and it dies, as AWS reports Init
errors on the invoke that triggered the cold start. Transitions are disallowed unless listed.
"""

from __future__ import annotations

import enum


class EnvState(enum.Enum):
    CREATING = "creating"
    INITIALIZING = "initializing"
    INIT_FAILED = "init_failed"
    READY = "ready"
    BUSY = "busy"
    DEAD = "dead"


_ALLOWED: dict[EnvState, frozenset[EnvState]] = {
    EnvState.CREATING: frozenset({EnvState.INITIALIZING, EnvState.DEAD}),
    EnvState.INITIALIZING: frozenset({EnvState.READY, EnvState.INIT_FAILED, EnvState.DEAD}),
    EnvState.INIT_FAILED: frozenset({EnvState.BUSY, EnvState.DEAD}),
    EnvState.READY: frozenset({EnvState.BUSY, EnvState.DEAD}),
    EnvState.BUSY: frozenset({EnvState.READY, EnvState.DEAD}),
    EnvState.DEAD: frozenset(),
}


class IllegalEnvTransition(Exception):
    def __init__(self, current: EnvState, target: EnvState) -> None:
        super().__init__(f"environment cannot go from {current.value} to {target.value}")
        self.current = current
        self.target = target


def next_state(current: EnvState, target: EnvState) -> EnvState:
    if target not in _ALLOWED[current]:
        raise IllegalEnvTransition(current, target)
    return target


def can_move(current: EnvState, target: EnvState) -> bool:
    return target in _ALLOWED[current]
