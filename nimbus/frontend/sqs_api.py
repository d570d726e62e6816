"""The built-in queues' API: SQS's JSON protocol (``X-Amz-Target: AmazonSQS.<Operation>``,
``application/x-amz-json-1.0``), which botocore uses for SQS since 1.31.

Each operation parses its JSON input, calls the queue service and renders its JSON output;
errors are rendered by ``frontend/errors.render_error`` (the root table marks the protocol).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from nimbus.errors import (
    BatchEntryIdsNotDistinctError,
    EmptyBatchRequestError,
    InvalidActionError,
    InvalidBatchEntryIdError,
    ReceiptHandleIsInvalidError,
    SqsInvalidParameterError,
    SqsMissingParameterError,
    TooManyEntriesInBatchRequestError,
)
from nimbus.frontend.sqs_params import (
    http_trace_header,
    integer,
    invalid,
    message_attributes,
    render_attributes,
    string,
    string_map,
    strings,
    system_md5,
    trace_header_attribute,
)
from nimbus.model.queue import BatchFailure, ReceivedMessage, SendRequest, SentMessage
from nimbus.queues.attributes import md5_of_attributes
from nimbus.queues.service import QueueService

Params = Mapping[str, Any]
Handler = Callable[[QueueService, Params], Awaitable[dict[str, Any]]]
# SendMessage and SendMessageBatch also take the request's X-Amzn-Trace-Id.
SendHandler = Callable[[QueueService, Params, str | None], Awaitable[dict[str, Any]]]
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
MAX_BATCH = 10


def _queue(service: QueueService, params: Params) -> str:
    url = string(params, "QueueUrl")
    if not url:
        raise SqsMissingParameterError("The request must contain the parameter QueueUrl.")
    return service.name_from_url(url)


def _entries(params: Params) -> Sequence[Params]:
    entries = params.get("Entries") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise invalid("Entries")
    if not entries:
        raise EmptyBatchRequestError("There should be at least one entry in the request.")
    if len(entries) > MAX_BATCH:
        raise TooManyEntriesInBatchRequestError(
            f"Maximum number of entries per request are {MAX_BATCH}. You have sent {len(entries)}."
        )
    ids = [str(e.get("Id", "")) for e in entries]
    if len(set(ids)) != len(ids):
        raise BatchEntryIdsNotDistinctError("Two or more batch entries have the same Id.")
    for entry_id in ids:
        if not _BATCH_ID.match(entry_id):
            raise InvalidBatchEntryIdError(
                "A batch entry id can only contain alphanumeric characters, hyphens and "
                "underscores. It can be at most 80 letters long."
            )
    return list(entries)


def _failed(entry_id: str, failure: BatchFailure) -> dict[str, Any]:
    return {
        "Id": entry_id,
        "SenderFault": failure.sender_fault,
        "Code": failure.code,
        "Message": failure.message,
    }


def _send_request(params: Params, http_trace: str | None) -> tuple[SendRequest, bool]:
    """The message to send, and whether its trace header came in MessageSystemAttributes
    (then the answer has its MD5OfMessageSystemAttributes). Without one, the request's
    X-Amzn-Trace-Id is the message's AWSTraceHeader, as SQS takes it."""
    body = string(params, "MessageBody")
    if body is None or body == "":
        raise SqsMissingParameterError("The request must contain the parameter MessageBody.")
    explicit = trace_header_attribute(params.get("MessageSystemAttributes"))
    request = SendRequest(
        body=str(body),
        delay_s=integer(params, "DelaySeconds"),
        attributes=message_attributes(params.get("MessageAttributes")),
        trace_header=explicit if explicit is not None else http_trace,
    )
    return request, explicit is not None


def _sent(message: SentMessage, request: SendRequest, explicit: bool) -> dict[str, Any]:
    out = {"MessageId": message.message_id, "MD5OfMessageBody": message.md5_of_body}
    if message.md5_of_attributes:
        out["MD5OfMessageAttributes"] = message.md5_of_attributes
    if explicit and request.trace_header is not None:
        digest = system_md5(request.trace_header)
        if digest is not None:
            out["MD5OfMessageSystemAttributes"] = digest
    return out


def _wanted(names: Sequence[str], key: str) -> bool:
    return any(
        n in ("All", ".*") or n == key or (n.endswith(".*") and key.startswith(n[:-1]))
        for n in names
    )


def _message(message: ReceivedMessage, params: Params) -> dict[str, Any]:
    out: dict[str, Any] = {
        "MessageId": message.message_id,
        "ReceiptHandle": message.receipt_handle,
        "MD5OfBody": message.md5_of_body,
        "Body": message.body,
    }
    system_names = [
        *strings(params, "AttributeNames"),
        *strings(params, "MessageSystemAttributeNames"),
    ]
    system = {k: v for k, v in message.system_attributes.items() if _wanted(system_names, k)}
    if system:
        out["Attributes"] = system
    names = strings(params, "MessageAttributeNames")
    chosen = {k: v for k, v in message.attributes.items() if _wanted(names, k)}
    if chosen:
        out["MessageAttributes"] = render_attributes(chosen)
        out["MD5OfMessageAttributes"] = md5_of_attributes(chosen)
    return out


# --- operations ----------------------------------------------------------------------------


async def create_queue(service: QueueService, params: Params) -> dict[str, Any]:
    name = string(params, "QueueName")
    if not name:
        raise SqsMissingParameterError("The request must contain the parameter QueueName.")
    attributes = string_map(params, "Attributes")
    url = await service.create_queue(name, attributes, string_map(params, "tags"))
    return {"QueueUrl": url}


async def get_queue_url(service: QueueService, params: Params) -> dict[str, Any]:
    return {"QueueUrl": service.get_queue_url(string(params, "QueueName") or "")}


async def list_queues(service: QueueService, params: Params) -> dict[str, Any]:
    max_results = integer(params, "MaxResults")
    if max_results is not None and not 1 <= max_results <= 1000:
        raise SqsInvalidParameterError("MaxResults must be between 1 and 1000.")
    urls, token = service.list_queues(
        string(params, "QueueNamePrefix") or "",
        max_results=max_results,
        next_token=string(params, "NextToken"),
    )
    out: dict[str, Any] = {"QueueUrls": urls} if urls else {}
    if token:
        out["NextToken"] = token
    return out


async def delete_queue(service: QueueService, params: Params) -> dict[str, Any]:
    await service.delete_queue(_queue(service, params))
    return {}


async def purge_queue(service: QueueService, params: Params) -> dict[str, Any]:
    await service.purge(_queue(service, params))
    return {}


async def get_queue_attributes(service: QueueService, params: Params) -> dict[str, Any]:
    names = strings(params, "AttributeNames")
    attributes = service.get_attributes(_queue(service, params), names)
    return {"Attributes": attributes} if attributes else {}


async def set_queue_attributes(service: QueueService, params: Params) -> dict[str, Any]:
    attributes = string_map(params, "Attributes")
    await service.set_attributes(_queue(service, params), attributes)
    return {}


async def send_message(
    service: QueueService, params: Params, trace: str | None = None
) -> dict[str, Any]:
    name = _queue(service, params)
    request, explicit = _send_request(params, trace)
    sent = await service.send(name, [request])
    return _sent(sent[0], request, explicit)


async def send_message_batch(
    service: QueueService, params: Params, trace: str | None = None
) -> dict[str, Any]:
    name = _queue(service, params)
    entries = _entries(params)
    accepted: list[tuple[str, SendRequest, bool]] = []
    failed = []
    for entry in entries:
        try:
            request, explicit = _send_request(entry, trace)
        except SqsInvalidParameterError as exc:
            # An entry's invalid value fails that entry; the others are sent.
            failed.append(
                _failed(str(entry["Id"]), BatchFailure(code=exc.error_type, message=exc.message))
            )
            continue
        accepted.append((str(entry["Id"]), request, explicit))
    sent = await service.send(name, [r for _i, r, _e in accepted]) if accepted else []
    return {
        "Successful": [
            {"Id": entry_id, **_sent(message, request, explicit)}
            for (entry_id, request, explicit), message in zip(accepted, sent, strict=True)
        ],
        "Failed": failed,
    }


async def receive_message(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    for names in ("AttributeNames", "MessageSystemAttributeNames", "MessageAttributeNames"):
        strings(params, names)  # checked before a message is taken, not only if one is
    messages = await service.receive(
        name,
        max_messages=integer(params, "MaxNumberOfMessages") or 1,
        visibility_timeout=integer(params, "VisibilityTimeout"),
        wait_s=integer(params, "WaitTimeSeconds"),
    )
    return {"Messages": [_message(m, params) for m in messages]} if messages else {}


async def delete_message(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    [failure] = await service.delete(name, [string(params, "ReceiptHandle") or ""])
    if failure is not None:
        raise ReceiptHandleIsInvalidError(failure.message)
    return {}


async def delete_message_batch(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    entries = _entries(params)
    results = await service.delete(name, [string(e, "ReceiptHandle") or "" for e in entries])
    return _batch_result(entries, results)


async def change_message_visibility(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    timeout = integer(params, "VisibilityTimeout")
    if timeout is None:
        raise SqsMissingParameterError("The request must contain the parameter VisibilityTimeout.")
    [failure] = await service.change_visibility(
        name, [(string(params, "ReceiptHandle") or "", timeout)]
    )
    if failure is not None:
        raise _error_of(failure)
    return {}


async def change_message_visibility_batch(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    entries = _entries(params)
    results = await service.change_visibility(
        name,
        [(string(e, "ReceiptHandle") or "", integer(e, "VisibilityTimeout") or 0) for e in entries],
    )
    return _batch_result(entries, results)


def _batch_result(
    entries: Sequence[Params], results: Sequence[BatchFailure | None]
) -> dict[str, Any]:
    return {
        "Successful": [{"Id": e["Id"]} for e, r in zip(entries, results, strict=True) if r is None],
        "Failed": [
            _failed(str(e["Id"]), r) for e, r in zip(entries, results, strict=True) if r is not None
        ],
    }


def _error_of(failure: BatchFailure) -> Exception:
    from nimbus import errors

    for cls in (errors.MessageNotInflightError, errors.ReceiptHandleIsInvalidError):
        if cls.error_type == failure.code:
            return cls(failure.message)
    return SqsInvalidParameterError(failure.message)


OPERATIONS: dict[str, Handler] = {
    "CreateQueue": create_queue,
    "GetQueueUrl": get_queue_url,
    "ListQueues": list_queues,
    "DeleteQueue": delete_queue,
    "PurgeQueue": purge_queue,
    "GetQueueAttributes": get_queue_attributes,
    "SetQueueAttributes": set_queue_attributes,
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
    "ReceiveMessage": receive_message,
    "DeleteMessage": delete_message,
    "DeleteMessageBatch": delete_message_batch,
    "ChangeMessageVisibility": change_message_visibility,
    "ChangeMessageVisibilityBatch": change_message_visibility_batch,
}


SENDS: dict[str, SendHandler] = {
    "SendMessage": send_message,
    "SendMessageBatch": send_message_batch,
}


async def call(
    queues: QueueService, operation: str, params: Params, *, trace_header: str | None = None
) -> dict[str, Any]:
    """One operation's answer; ``trace_header`` is the request's X-Amzn-Trace-Id (what a
    function's SDK call carries its lineage in)."""
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise InvalidActionError(
            f"The action {operation} is not valid for this endpoint (not implemented by Nimbus)."
        )
    send = SENDS.get(operation)
    if send is not None:
        return await send(queues, params, http_trace_header(trace_header))
    return await handler(queues, params)
