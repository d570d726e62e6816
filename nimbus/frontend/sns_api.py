"""The built-in topics' API: an SNS-compatible minimum over SNS's query protocol (form POST
with ``Action=...``, XML answers)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable, Mapping

from nimbus.errors import InvalidActionError, SnsInvalidParameterError
from nimbus.frontend.sqs_params import http_trace_header
from nimbus.frontend.xml_text import xml_text
from nimbus.model.queue import MessageAttribute
from nimbus.queues.topics import TopicService

Form = Mapping[str, str]
# Returns the inner XML of <{Action}Result> (may be empty).
Handler = Callable[[TopicService, Form], Awaitable[str]]
# Publish also takes the request's X-Amzn-Trace-Id (a function's lineage).
TracedHandler = Callable[[TopicService, Form, str | None], Awaitable[str]]
XMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"


def _entries(form: Form, prefix: str) -> dict[int, dict[str, str]]:
    """``prefix.entry.N.field`` form keys grouped by N."""
    grouped: dict[int, dict[str, str]] = {}
    start = f"{prefix}.entry."
    for key, value in form.items():
        if key.startswith(start):
            index, _, field = key[len(start) :].partition(".")
            if index.isascii() and index.isdigit():  # "²".isdigit() too, which int() refuses
                grouped.setdefault(int(index), {})[field] = value
    return grouped


def _map(form: Form, prefix: str) -> dict[str, str]:
    return {e["key"]: e.get("value", "") for e in _entries(form, prefix).values() if "key" in e}


def _message_attributes(form: Form) -> dict[str, MessageAttribute]:
    attributes = {}
    for entry in _entries(form, "MessageAttributes").values():
        name = entry.get("Name")
        if not name:
            raise SnsInvalidParameterError(
                "Invalid parameter: MessageAttributes Reason: an attribute has no Name"
            )
        binary = entry.get("Value.BinaryValue")
        try:
            decoded = None if binary is None else base64.b64decode(binary, validate=True)
        except binascii.Error as exc:
            raise SnsInvalidParameterError(
                f"Invalid parameter: MessageAttributes Reason: the binary value of {name} is "
                "not base64"
            ) from exc
        attributes[name] = MessageAttribute(
            data_type=entry.get("Value.DataType", "String"),
            string_value=entry.get("Value.StringValue"),
            binary_value=decoded,
        )
    return attributes


def _required(form: Form, name: str) -> str:
    value = form.get(name)
    if not value:
        raise SnsInvalidParameterError(f"Invalid parameter: {name} is required")
    return value


def _tag(name: str, value: str) -> str:
    return f"<{name}>{xml_text(value)}</{name}>"


async def create_topic(topics: TopicService, form: Form) -> str:
    arn = await topics.create_topic(_required(form, "Name"), _map(form, "Attributes"))
    return _tag("TopicArn", arn)


async def delete_topic(topics: TopicService, form: Form) -> str:
    await topics.delete_topic(_required(form, "TopicArn"))
    return ""


async def list_topics(topics: TopicService, form: Form) -> str:
    members = "".join(f"<member>{_tag('TopicArn', arn)}</member>" for arn in topics.list_topics())
    return f"<Topics>{members}</Topics>"


async def get_topic_attributes(topics: TopicService, form: Form) -> str:
    attributes = topics.topic_attributes(_required(form, "TopicArn"))
    entries = "".join(
        f"<entry>{_tag('key', k)}{_tag('value', v)}</entry>" for k, v in attributes.items()
    )
    return f"<Attributes>{entries}</Attributes>"


async def subscribe(topics: TopicService, form: Form) -> str:
    arn = await topics.subscribe(
        _required(form, "TopicArn"),
        _required(form, "Protocol"),
        _required(form, "Endpoint"),
        _map(form, "Attributes"),
    )
    return _tag("SubscriptionArn", arn)


async def unsubscribe(topics: TopicService, form: Form) -> str:
    await topics.unsubscribe(_required(form, "SubscriptionArn"))
    return ""


async def _list_subscriptions(topics: TopicService, topic_arn: str | None) -> str:
    members = "".join(
        "<member>"
        + _tag("SubscriptionArn", s.arn)
        + _tag("Owner", topics.arn(s.topic).split(":")[4])
        + _tag("Protocol", s.protocol)
        + _tag("Endpoint", s.endpoint)
        + _tag("TopicArn", topics.arn(s.topic))
        + "</member>"
        for s in topics.subscriptions(topic_arn)
    )
    return f"<Subscriptions>{members}</Subscriptions>"


async def list_subscriptions(topics: TopicService, form: Form) -> str:
    return await _list_subscriptions(topics, None)


async def list_subscriptions_by_topic(topics: TopicService, form: Form) -> str:
    return await _list_subscriptions(topics, _required(form, "TopicArn"))


async def publish(topics: TopicService, form: Form, trace_header: str | None = None) -> str:
    arn = form.get("TopicArn") or form.get("TargetArn")
    if not arn:
        raise SnsInvalidParameterError("Invalid parameter: TopicArn or TargetArn Reason: no value")
    message = form.get("Message")
    if message is None or message == "":
        raise SnsInvalidParameterError("Invalid parameter: Empty message")
    message_id = await topics.publish(
        arn,
        message,
        subject=form.get("Subject"),
        attributes=_message_attributes(form),
        trace_header=trace_header,
    )
    return _tag("MessageId", message_id)


OPERATIONS: dict[str, Handler] = {
    "CreateTopic": create_topic,
    "DeleteTopic": delete_topic,
    "ListTopics": list_topics,
    "GetTopicAttributes": get_topic_attributes,
    "Subscribe": subscribe,
    "Unsubscribe": unsubscribe,
    "ListSubscriptions": list_subscriptions,
    "ListSubscriptionsByTopic": list_subscriptions_by_topic,
    "Publish": publish,
}


TRACED: dict[str, TracedHandler] = {"Publish": publish}


async def call(
    topics: TopicService,
    action: str,
    form: Form,
    request_id: str,
    *,
    trace_header: str | None = None,
) -> str:
    """The whole XML answer of one action; ``trace_header`` is the request's
    X-Amzn-Trace-Id, which Publish carries to its deliveries."""
    handler = OPERATIONS.get(action)
    if handler is None:
        raise InvalidActionError(f"The action {action} is not valid for this endpoint.")
    traced = TRACED.get(action)
    if traced is not None:
        result = await traced(topics, form, http_trace_header(trace_header))
    else:
        result = await handler(topics, form)
    return (
        f'<{action}Response xmlns="{XMLNS}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{action}Response>"
    )
