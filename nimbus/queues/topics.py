"""Built-in topics (an SNS-compatible minimum): publish fans a message out to the queues and
functions subscribed to the topic.

Publish returns once every delivery is durable — in the subscribed queues, or in the async
event queue for functions (which SNS invokes asynchronously, as AWS does).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson

from nimbus.clock import Clock
from nimbus.errors import SnsInvalidParameterError, TopicNotFoundError
from nimbus.model.arn import parse_function_ref
from nimbus.model.invoke import InvokeCall
from nimbus.model.queue import MessageAttribute
from nimbus.queues.service import QueueService
from nimbus.store.group_commit import GroupCommit
from nimbus.store.topics import SubscriptionRow, TopicRepository, TopicRow

Accept = Callable[[InvokeCall], Awaitable[str]]


def iso_timestamp(epoch: float) -> str:
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{int(epoch * 1000) % 1000:03d}Z"
    )


class TopicService:
    def __init__(
        self,
        *,
        repo: TopicRepository,
        commit: GroupCommit,
        queues: QueueService,
        accept: Accept,
        clock: Clock,
        region: str,
        account_id: str,
        endpoint_url: str,
    ) -> None:
        self._repo = repo
        self._commit = commit
        self._queues = queues
        self._accept = accept
        self._clock = clock
        self._region = region
        self._account = account_id
        self._endpoint = endpoint_url.rstrip("/")
        self._topics: dict[str, TopicRow] = {}
        self._subscriptions: dict[str, SubscriptionRow] = {}

    async def load(self) -> None:
        topics, subscriptions = await self._repo.load()
        self._topics = {row.name: row for row in topics}
        self._subscriptions = {row.arn: row for row in subscriptions}

    def arn(self, name: str) -> str:
        return f"arn:aws:sns:{self._region}:{self._account}:{name}"

    def _name(self, arn: str) -> str:
        parts = arn.split(":")
        if len(parts) != 6 or parts[2] != "sns":
            raise SnsInvalidParameterError(f"Invalid parameter: TopicArn {arn}")
        if parts[5] not in self._topics:
            raise TopicNotFoundError("Topic does not exist")
        return parts[5]

    async def create_topic(self, name: str, attributes: Mapping[str, str]) -> str:
        if not name or len(name) > 256 or not all(c.isalnum() or c in "-_" for c in name):
            raise SnsInvalidParameterError(
                "Invalid parameter: Topic Name (only alphanumerics, hyphens and underscores; "
                "FIFO topics are not implemented yet)"
            )
        if name not in self._topics:
            row = TopicRow(name=name, attributes=dict(attributes), created_at=self._clock.now())
            await self._commit.write(self._repo.insert_topic(row))
            self._topics[name] = row
        return self.arn(name)

    async def delete_topic(self, arn: str) -> None:
        parts = arn.split(":")
        name = parts[5] if len(parts) == 6 else ""
        if name not in self._topics:
            return  # DeleteTopic of a topic that does not exist succeeds on AWS
        del self._topics[name]
        for sub_arn in [a for a, s in self._subscriptions.items() if s.topic == name]:
            del self._subscriptions[sub_arn]
        await self._commit.write(*self._repo.delete_topic(name))

    def list_topics(self) -> list[str]:
        return [self.arn(name) for name in sorted(self._topics)]

    def topic_attributes(self, arn: str) -> dict[str, str]:
        name = self._name(arn)
        subs = [s for s in self._subscriptions.values() if s.topic == name]
        return {
            **self._topics[name].attributes,
            "TopicArn": arn,
            "Owner": self._account,
            "DisplayName": self._topics[name].attributes.get("DisplayName", ""),
            "SubscriptionsConfirmed": str(len(subs)),
            "SubscriptionsPending": "0",
            "SubscriptionsDeleted": "0",
        }

    async def subscribe(
        self, topic_arn: str, protocol: str, endpoint: str, attributes: Mapping[str, str]
    ) -> str:
        name = self._name(topic_arn)
        if protocol == "sqs":
            self._queues.name_from_arn(endpoint)
        elif protocol == "lambda":
            parse_function_ref(endpoint)
        else:
            raise SnsInvalidParameterError(
                f"Invalid parameter: Protocol {protocol}: Nimbus topics deliver to 'sqs' and "
                "'lambda' subscriptions."
            )
        for existing in self._subscriptions.values():
            if (existing.topic, existing.protocol, existing.endpoint) == (name, protocol, endpoint):
                return existing.arn
        row = SubscriptionRow(
            arn=f"{topic_arn}:{uuid.uuid4()}",
            topic=name,
            protocol=protocol,
            endpoint=endpoint,
            attributes=dict(attributes),
        )
        await self._commit.write(self._repo.insert_subscription(row))
        self._subscriptions[row.arn] = row
        return row.arn

    async def unsubscribe(self, arn: str) -> None:
        if self._subscriptions.pop(arn, None) is not None:
            await self._commit.write(self._repo.delete_subscription(arn))

    def subscriptions(self, topic_arn: str | None = None) -> list[SubscriptionRow]:
        name = None if topic_arn is None else self._name(topic_arn)
        return [s for s in self._subscriptions.values() if name is None or s.topic == name]

    async def publish(
        self,
        topic_arn: str,
        message: str,
        *,
        subject: str | None = None,
        attributes: Mapping[str, MessageAttribute] | None = None,
        trace_header: str | None = None,
    ) -> str:
        """Deliver to every subscription; ``trace_header`` (the publisher's X-Amzn-Trace-Id)
        goes with each delivery — a queue's message keeps it as its AWSTraceHeader, a
        function is invoked with it — so a loop through the topic is counted (AWS's
        recursive loop detection covers SNS)."""
        name = self._name(topic_arn)
        message_id = str(uuid.uuid4())
        timestamp = iso_timestamp(self._clock.now())
        attrs = attributes or {}
        for sub in [s for s in self._subscriptions.values() if s.topic == name]:
            notification = self._notification(
                sub, message_id, topic_arn, message, subject, timestamp, attrs
            )
            if sub.protocol == "sqs":
                raw = sub.attributes.get("RawMessageDelivery", "false").lower() == "true"
                await self._queues.send_to_arn(
                    sub.endpoint,
                    message if raw else orjson.dumps(notification).decode(),
                    attrs if raw else None,
                    trace_header=trace_header,
                )
            else:
                ref = parse_function_ref(sub.endpoint)
                record = {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": sub.arn,
                    "Sns": notification,
                }
                await self._accept(
                    InvokeCall(
                        function_name=ref.name,
                        qualifier=ref.qualifier,
                        payload=orjson.dumps({"Records": [record]}),
                        invocation_type="Event",
                        trace_header=trace_header,
                    )
                )
        return message_id

    def _notification(
        self,
        sub: SubscriptionRow,
        message_id: str,
        topic_arn: str,
        message: str,
        subject: str | None,
        timestamp: str,
        attributes: Mapping[str, MessageAttribute],
    ) -> dict[str, Any]:
        cert = "SigningCertUrl" if sub.protocol == "lambda" else "SigningCertURL"
        unsub = "UnsubscribeUrl" if sub.protocol == "lambda" else "UnsubscribeURL"
        body: dict[str, Any] = {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn,
            "Subject": subject,
            "Message": message,
            "Timestamp": timestamp,
            "SignatureVersion": "1",
            "Signature": "",
            cert: "",
            unsub: f"{self._endpoint}/?Action=Unsubscribe&SubscriptionArn={sub.arn}",
        }
        if attributes:
            body["MessageAttributes"] = {
                key: {
                    "Type": a.data_type,
                    "Value": a.string_value
                    if a.binary_value is None
                    else base64.b64encode(a.binary_value).decode(),
                }
                for key, a in attributes.items()
            }
        if subject is None and sub.protocol == "sqs":
            del body["Subject"]
        return body
