"""Accepting asynchronous invocations (InvocationType=Event, InvokeAsync): validate, make the
event durable, answer with its request id, and hand it to the poller pool.

An event answered with a 202 is committed to the store first, so a crash right after the 202
loses nothing. Commits are grouped (see ``store/group_commit.py``) so that accepting stays
cheap under load. While this node's pollers have room, the event is inserted already claimed
by this node and handed over in memory — no claim query needed; otherwise it is inserted
unclaimed and claimed later, by whichever node has room.
"""

from __future__ import annotations

import uuid
from typing import Protocol

from nimbus.clock import Clock
from nimbus.errors import RequestTooLargeError
from nimbus.events.inbox import EventInbox
from nimbus.model.async_event import AsyncEvent
from nimbus.model.function import FunctionConfig
from nimbus.model.invoke import InvokeCall
from nimbus.store.async_events import AsyncEventRepository
from nimbus.store.group_commit import GroupCommit

ASYNC_PAYLOAD_LIMIT = 1_048_576  # 1 MB: AWS's limit for asynchronous invocations


class ConfigResolver(Protocol):
    async def config(self, name: str, qualifier: str | None) -> FunctionConfig:
        """Raises ResourceNotFoundError for an unknown function, version or alias."""


class EventService:
    def __init__(
        self,
        *,
        repo: AsyncEventRepository,
        commit: GroupCommit,
        inbox: EventInbox,
        resolver: ConfigResolver,
        clock: Clock,
    ) -> None:
        self._repo = repo
        self._commit = commit
        self._inbox = inbox
        self._resolver = resolver
        self._clock = clock

    async def accept(self, call: InvokeCall) -> str:
        """Durably queue an asynchronous invocation; returns its request id.

        Raises RequestTooLargeError (payload over 1 MB) and ResourceNotFoundError (no such
        function, version or alias).
        """
        if len(call.payload) > ASYNC_PAYLOAD_LIMIT:
            raise RequestTooLargeError(
                f"Request must be smaller than {ASYNC_PAYLOAD_LIMIT} bytes for the "
                "InvokeFunction operation"
            )
        await self._resolver.config(call.function_name, call.qualifier)
        now = self._clock.now()
        event = AsyncEvent(
            id=call.request_id or str(uuid.uuid4()),
            function=call.function_name,
            qualifier=call.qualifier,
            payload=call.payload,
            client_context=call.client_context,
            trace_header=call.trace_header,
            enqueued_at=now,
            next_attempt_at=now,
        )
        claim = self._inbox.reserve()
        try:
            await self._commit.write(
                self._repo.insert(
                    event,
                    claimed_by=self._inbox.node_id if claim else None,
                    claim_expires_at=now + self._inbox.lease_s if claim else 0.0,
                )
            )
        except BaseException:
            if claim:
                self._inbox.unreserve()
            raise
        if claim:
            self._inbox.push(event)
        else:
            self._inbox.poke()
        return event.id

    async def pending(self) -> int:
        """Events accepted and not yet acknowledged (tests and metrics)."""
        return await self._repo.count()
