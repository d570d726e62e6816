"""A fake invoker for unit tests of the event pollers: scripted outcomes, recorded calls."""

from __future__ import annotations

from collections.abc import Callable

from nimbus.model.invoke import InvokeCall, InvokeOutcome

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
