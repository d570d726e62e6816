"""The narrow interfaces route tables call where a whole service would be more than they need
(and a fake is handy in tests). Failures are NimbusErrors, rendered by ``frontend.errors``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from nimbus.dataplane.assignment import Tracked
from nimbus.model.function import FunctionConfig
from nimbus.model.invoke import InvokeCall, InvokeOutcome
from nimbus.model.streaming import StreamOutcome


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


class StreamedInvocation(Protocol):
    """One streamed invocation (``dataplane.streaming.StreamingInvocation``): read
    ``content_type()``, then ``chunks()`` to the end, then ``outcome()``. None of them
    raises for a function's failure: ``outcome`` reports it."""

    @property
    def request_id(self) -> str: ...

    @property
    def executed_version(self) -> str: ...

    async def content_type(self) -> str:
        """Once the function starts its response: its runtime's Content-Type for a streamed
        one (``application/octet-stream`` when it named none; a Node.js
        ``HttpResponseStream`` says ``application/vnd.awslambda.http-integration-response``),
        ``application/json`` for one buffered response or none."""

    def chunks(self) -> AsyncIterator[bytes]:
        """The function's bytes as it writes them (a buffered response whole, once)."""

    async def outcome(self) -> StreamOutcome:
        """How it ended, once the function is done."""


class StreamInvocations(Protocol):
    def invoke_stream(self, call: InvokeCall) -> AbstractAsyncContextManager[StreamedInvocation]:
        """Run one invocation streaming its response. Entering raises what ``invoke`` raises
        before a function runs (ResourceNotFoundError, TooManyRequestsError, ...); leaving
        abandons what is unread (the function runs on). (``dataplane.invoker.Invoker``.)"""


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
