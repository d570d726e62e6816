"""The invoker as its callers (frontend, event pollers, triggers) see it."""

from __future__ import annotations

from typing import Protocol

from nimbus.model.invoke import InvokeCall, InvokeOutcome


class InvokerPort(Protocol):
    async def invoke(self, call: InvokeCall) -> InvokeOutcome:
        """Run one invocation synchronously to completion.

        Raises ``NimbusError`` subclasses for what is not a function error: unknown
        function/qualifier (ResourceNotFoundError), throttles (TooManyRequestsError, with
        ``fields["Reason"]``), payload too large (RequestTooLargeError), system failures
        (ServiceError). Function errors (handler raised, timeout, crash, OOM) come back as an
        outcome with ``function_error`` set.
        """
