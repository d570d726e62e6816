"""A fake invoker for unit tests of the event pollers and routes: scripted outcomes,
recorded calls."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from nimbus.dataplane.streaming import error_code_of
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.model.streaming import BUFFERED_CONTENT_TYPE, StreamOutcome

# call -> an outcome, or an exception to raise (a throttle, a system error)
Script = Callable[[InvokeCall], InvokeOutcome | Exception]


def succeed(call: InvokeCall) -> InvokeOutcome:
    return InvokeOutcome(
        request_id=call.request_id or "", executed_version="$LATEST", payload=b'{"ok": true}'
    )


def fail(call: InvokeCall) -> InvokeOutcome:
    return InvokeOutcome(
        request_id=call.request_id or "",
        executed_version="$LATEST",
        payload=b'{"errorMessage": "boom", "errorType": "ValueError"}',
        function_error="Unhandled",
    )


class FakeInvoker:
    def __init__(self, script: Script = succeed) -> None:
        self.script = script
        self.calls: list[InvokeCall] = []

    async def invoke(self, call: InvokeCall) -> InvokeOutcome:
        self.calls.append(call)
        result = self.script(call)
        if isinstance(result, Exception):
            raise result
        return result

    @asynccontextmanager
    async def invoke_stream(self, call: InvokeCall) -> AsyncIterator[FakeStreamedInvocation]:
        yield FakeStreamedInvocation(await self.invoke(call))


class FakeStreamedInvocation:
    """A streamed invocation that answered with one buffered outcome."""

    def __init__(self, outcome: InvokeOutcome) -> None:
        self._outcome = outcome

    @property
    def request_id(self) -> str:
        return self._outcome.request_id

    @property
    def executed_version(self) -> str:
        return self._outcome.executed_version

    async def content_type(self) -> str:
        return BUFFERED_CONTENT_TYPE

    async def chunks(self) -> AsyncIterator[bytes]:
        if self._outcome.function_error is None:
            yield self._outcome.payload

    async def outcome(self) -> StreamOutcome:
        if self._outcome.function_error is None:
            return StreamOutcome(log_tail=self._outcome.log_tail)
        return StreamOutcome(
            error_code=error_code_of(self._outcome.payload),
            error_details=self._outcome.payload.decode(),
            log_tail=self._outcome.log_tail,
        )
