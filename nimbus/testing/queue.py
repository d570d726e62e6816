"""An in-memory queue for unit tests of the SQS pollers (``sqs_poller.QueuePort``): messages
are visible or in flight; a receive never waits."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from nimbus.errors import QueueDoesNotExistError
from nimbus.model.queue import BatchFailure, ReceivedMessage


class FakeQueue:
    def __init__(self, name: str = "q", arn: str = "arn:aws:sqs:us-east-1:000000000000:q") -> None:
        self.name = name
        self.queue_arn = arn
        self.visible: list[ReceivedMessage] = []
        self.in_flight: dict[str, ReceivedMessage] = {}
        self.deleted: list[str] = []  # message ids, in the order they were deleted
        self._sent = 0

    def send(self, body: str) -> str:
        self._sent += 1
        message_id = f"m-{self._sent}"
        self.visible.append(
            ReceivedMessage(
                message_id=message_id,
                receipt_handle=f"r-{message_id}",
                body=body,
                md5_of_body=hashlib.md5(body.encode()).hexdigest(),
                system_attributes={"ApproximateReceiveCount": "1"},
                attributes={},
            )
        )
        return message_id

    # --- QueuePort -------------------------------------------------------------------------

    def name_from_arn(self, arn: str) -> str:
        if arn != self.queue_arn:
            raise QueueDoesNotExistError("The specified queue does not exist.")
        return self.name

    def arn(self, name: str) -> str:
        return self.queue_arn

    def get_attributes(self, name: str, names: Sequence[str]) -> dict[str, str]:
        return {"VisibilityTimeout": "30", "QueueArn": self.queue_arn}

    async def receive(
        self,
        name: str,
        *,
        max_messages: int = 1,
        visibility_timeout: int | None = None,
        wait_s: int | None = None,
    ) -> list[ReceivedMessage]:
        taken, self.visible = self.visible[:max_messages], self.visible[max_messages:]
        for message in taken:
            self.in_flight[message.receipt_handle] = message
        return taken

    async def delete(self, name: str, receipts: Sequence[str]) -> list[BatchFailure | None]:
        for receipt in receipts:
            message = self.in_flight.pop(receipt)
            self.deleted.append(message.message_id)
        return [None] * len(receipts)

    async def change_visibility(
        self, name: str, entries: Sequence[tuple[str, int]]
    ) -> list[BatchFailure | None]:
        for receipt, _timeout in entries:
            self.visible.append(self.in_flight.pop(receipt))
        return [None] * len(entries)
