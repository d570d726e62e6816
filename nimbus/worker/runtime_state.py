"""The Runtime API's per-environment state machine (pure).

Modelled on the Runtime Interface Emulator's ``rapi`` states: the runtime starts, either
reports an Init error or asks for the next invocation, answers each invocation exactly once
with a response or an error, then asks for the next one. Any other request order is refused
with 403 ``InvalidStateTransition``, as AWS does. Transitions are disallowed unless listed.

A streamed response (``Lambda-Runtime-Function-Response-Mode: streaming``) is one request that
lasts: the runtime is STREAMING from its head to its end, and nothing else is accepted
meanwhile (AWS: ``/error`` "can only be called before the runtime begins sending an
invocation response"; a second response is refused like any second answer).
"""

from __future__ import annotations

import enum


class RuntimeState(enum.Enum):
    STARTED = "Started"  # process launched, Init running
    INIT_ERROR = "InitError"  # runtime reported /init/error
    READY = "Ready"  # parked in GET /next, no invocation yet
    INVOKING = "Invoking"  # an event was handed to the runtime
    STREAMING = "Streaming"  # a streamed response has begun and not ended
    RESPONDED = "Responded"  # response or error posted, runtime not back at /next yet


class RuntimeEvent(enum.Enum):
    NEXT = "Next"  # GET /runtime/invocation/next
    INIT_ERROR = "InitError"  # POST /runtime/init/error
    DISPATCH = "Dispatch"  # the host hands an event to the parked /next
    RESPONSE = "InvocationResponse"  # POST /runtime/invocation/{id}/response
    ERROR = "InvocationErrorResponse"  # POST /runtime/invocation/{id}/error
    STREAM = "InvocationResponseStream"  # the head of a streamed POST .../response
    STREAM_END = "InvocationResponseStreamEnd"  # its end: complete, cut short or too large


_TRANSITIONS: dict[tuple[RuntimeState, RuntimeEvent], RuntimeState] = {
    (RuntimeState.STARTED, RuntimeEvent.NEXT): RuntimeState.READY,
    (RuntimeState.STARTED, RuntimeEvent.INIT_ERROR): RuntimeState.INIT_ERROR,
    (RuntimeState.READY, RuntimeEvent.DISPATCH): RuntimeState.INVOKING,
    (RuntimeState.INVOKING, RuntimeEvent.RESPONSE): RuntimeState.RESPONDED,
    (RuntimeState.INVOKING, RuntimeEvent.ERROR): RuntimeState.RESPONDED,
    (RuntimeState.INVOKING, RuntimeEvent.STREAM): RuntimeState.STREAMING,
    (RuntimeState.STREAMING, RuntimeEvent.STREAM_END): RuntimeState.RESPONDED,
    (RuntimeState.RESPONDED, RuntimeEvent.NEXT): RuntimeState.READY,
}


class InvalidStateTransition(Exception):
    """Raised for a request the current state does not allow (403 on the wire)."""

    def __init__(self, state: RuntimeState, event: RuntimeEvent) -> None:
        # The message mirrors the emulator's: "State transition from X to Y failed ...".
        super().__init__(
            f"State transition from {state.value} to {event.value} failed for runtime. "
            "Error: State transition is not allowed"
        )
        self.state = state
        self.event = event


def transition(state: RuntimeState, event: RuntimeEvent) -> RuntimeState:
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidStateTransition(state, event) from None


def allowed(state: RuntimeState, event: RuntimeEvent) -> bool:
    return (state, event) in _TRANSITIONS
