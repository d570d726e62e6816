from __future__ import annotations

import pytest

from nimbus.worker.environment_state import EnvState, IllegalEnvTransition, can_move, next_state
from nimbus.worker.runtime_state import (
    InvalidStateTransition,
    RuntimeEvent,
    RuntimeState,
    allowed,
    transition,
)


def test_runtime_happy_path() -> None:
    state = RuntimeState.STARTED
    for event, expected in [
        (RuntimeEvent.NEXT, RuntimeState.READY),
        (RuntimeEvent.DISPATCH, RuntimeState.INVOKING),
        (RuntimeEvent.RESPONSE, RuntimeState.RESPONDED),
        (RuntimeEvent.NEXT, RuntimeState.READY),
        (RuntimeEvent.DISPATCH, RuntimeState.INVOKING),
        (RuntimeEvent.ERROR, RuntimeState.RESPONDED),
    ]:
        state = transition(state, event)
        assert state is expected


def test_a_streamed_response_is_one_answer_that_lasts() -> None:
    state = transition(RuntimeState.INVOKING, RuntimeEvent.STREAM)
    assert state is RuntimeState.STREAMING
    # Nothing else meanwhile: not /error (AWS: only before streaming begins), not a second
    # response, not /next.
    for event in RuntimeEvent:
        assert allowed(state, event) == (event is RuntimeEvent.STREAM_END)
    assert transition(state, RuntimeEvent.STREAM_END) is RuntimeState.RESPONDED
    assert transition(RuntimeState.RESPONDED, RuntimeEvent.NEXT) is RuntimeState.READY


def test_runtime_init_error_is_terminal() -> None:
    state = transition(RuntimeState.STARTED, RuntimeEvent.INIT_ERROR)
    assert state is RuntimeState.INIT_ERROR
    for event in RuntimeEvent:
        assert not allowed(state, event)


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (RuntimeState.STARTED, RuntimeEvent.RESPONSE),
        (RuntimeState.READY, RuntimeEvent.NEXT),
        (RuntimeState.READY, RuntimeEvent.RESPONSE),
        (RuntimeState.INVOKING, RuntimeEvent.NEXT),
        (RuntimeState.RESPONDED, RuntimeEvent.RESPONSE),
        (RuntimeState.READY, RuntimeEvent.INIT_ERROR),
    ],
)
def test_runtime_unlisted_transitions_refused(state: RuntimeState, event: RuntimeEvent) -> None:
    with pytest.raises(InvalidStateTransition) as info:
        transition(state, event)
    assert "State transition from" in str(info.value)


def test_environment_lifecycle() -> None:
    state = EnvState.CREATING
    for target in (
        EnvState.INITIALIZING,
        EnvState.READY,
        EnvState.BUSY,
        EnvState.READY,
        EnvState.BUSY,
        EnvState.DEAD,
    ):
        state = next_state(state, target)
    assert state is EnvState.DEAD
    assert can_move(EnvState.INIT_FAILED, EnvState.BUSY)
    with pytest.raises(IllegalEnvTransition):
        next_state(EnvState.DEAD, EnvState.READY)
    with pytest.raises(IllegalEnvTransition):
        next_state(EnvState.CREATING, EnvState.BUSY)
    assert not can_move(EnvState.READY, EnvState.INITIALIZING)
