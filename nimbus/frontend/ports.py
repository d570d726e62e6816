"""The narrow interfaces route tables call where a whole service would be more than they need
(and a fake is handy in tests). Failures are NimbusErrors, rendered by ``frontend.errors``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from nimbus.dataplane.assignment import Tracked
from nimbus.model.function import FunctionConfig
from nimbus.model.invoke import InvokeCall, InvokeOutcome


class ConfigResolver(Protocol):
    async def config(self, name: str, qualifier: str | None) -> FunctionConfig:
        """The configuration a read of ``name:qualifier`` sees ($LATEST, a version, or an
        alias's primary version). Raises ResourceNotFoundError for an unknown function,
        version or alias. (``control.resolver.QualifierResolver``.)"""


class Invocations(Protocol):
    async def invoke(self, call: InvokeCall) -> InvokeOutcome:
        """Run one synchronous invocation. A function's own failure is an outcome with
        ``function_error``; raises ResourceNotFoundError, TooManyRequestsError (throttled),
        ResourceConflictError/ResourceNotReadyError (function not active) and the
        ServiceException family when the environment fails. (``dataplane.invoker.Invoker``.)"""


class EventAcceptor(Protocol):
    async def accept(self, call: InvokeCall) -> str:
        """Durably queue an asynchronous invocation; returns its request id. Raises
        RequestTooLargeError and ResourceNotFoundError. (``events.service.EventService``.)"""


class ConcurrencyLimits(Protocol):
    """The account's and functions' concurrency limits, as reported by GetFunction and
    GetAccountSettings. (``dataplane.counting.Counting``.)"""

    def reserved(self, name: str) -> int | None:
        """The function's reserved concurrency; None when it has none. Never raises."""

    @property
    def account_limit(self) -> int: ...

    @property
    def unreserved_limit(self) -> int:
        """The account limit less every function's reservation."""


class EnvironmentSource(Protocol):
    def environments(self) -> Sequence[Tracked]:
        """Every execution environment this node tracks, idle or busy. Never raises.
        (``dataplane.assignment.Assignment``.)"""
