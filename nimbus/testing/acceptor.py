"""A fake asynchronous-invocation acceptor for unit tests: records what it accepts."""

from __future__ import annotations

from nimbus.model.invoke import InvokeCall


class FakeEventAcceptor:
    """``events.service.EventService.accept`` without a store: request ids are sequential."""

    def __init__(self) -> None:
        self.accepted: list[InvokeCall] = []

    async def accept(self, call: InvokeCall) -> str:
        self.accepted.append(call)
        return f"event-{len(self.accepted)}"
