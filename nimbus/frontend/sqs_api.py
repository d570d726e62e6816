"""The built-in queues' API: SQS's JSON protocol (``X-Amz-Target: AmazonSQS.<Operation>``,
``application/x-amz-json-1.0``), which botocore uses for SQS since 1.31.

Each operation parses its JSON input, calls the queue service and renders its JSON output;
errors are rendered by ``frontend/errors.render_error`` (the root table marks the protocol).
"""

from __future__ import annotations

import base64
import binascii
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
from nimbus.model.queue import BatchFailure, MessageAttribute, ReceivedMessage, SendRequest
from nimbus.queues.attributes import md5_of_attributes
from nimbus.queues.service import QueueService

Params = Mapping[str, Any]
Handler = Callable[[QueueService, Params], Awaitable[dict[str, Any]]]
_BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")
MAX_BATCH = 10


def _queue(service: QueueService, params: Params) -> str:
    url = _string(params, "QueueUrl")
    if not url:
        raise SqsMissingParameterError("The request must contain the parameter QueueUrl.")
    return service.name_from_url(url)


# The JSON protocol's input is typed by the model (botocore's sqs service-2.json): a member of
# another JSON type is refused as SQS refuses it, before anything uses it as its type.


def _invalid(name: str) -> SqsInvalidParameterError:
    return SqsInvalidParameterError(f"Value for parameter {name} is invalid: wrong type.")


def _string(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not isinstance(value, str):
        raise _invalid(name)
    return value


def _object(params: Params, name: str) -> dict[str, Any]:
    """A map or structure member ({} when absent)."""
    value = params.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _invalid(name)
    return value


def _string_map(params: Params, name: str) -> dict[str, str]:
    """A map of strings (queue attributes, tags)."""
    value = _object(params, name)
    if not all(isinstance(v, str) for v in value.values()):
        raise _invalid(name)
    return value


def _strings(params: Params, name: str) -> list[str]:
    """A list of strings ([] when absent)."""
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(name)
    return value


def _int(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _invalid(name)
    try:
        return int(value)
    except ValueError as exc:
        raise SqsInvalidParameterError(f"Value {value} for parameter {name} is invalid.") from exc


def _message_attributes(raw: Any) -> dict[str, MessageAttribute]:
    if not raw:
        return {}
    if not isinstance(raw, dict) or len(raw) > 10:
        raise SqsInvalidParameterError("Number of message attributes cannot exceed 10.")
    attributes = {}
    for name, value in raw.items():
        if not isinstance(value, dict):
            raise _invalid(f"MessageAttributes.{name}")
        data_type = str(value.get("DataType", ""))
        if data_type.split(".")[0] not in ("String", "Number", "Binary"):
            raise SqsInvalidParameterError(
                f"The type of message (user) attribute '{name}' is invalid."
            )
        binary = _string(value, "BinaryValue")
        try:
            decoded = None if binary is None else base64.b64decode(binary)
        except (binascii.Error, ValueError) as exc:
            raise SqsInvalidParameterError(f"Invalid binary value of attribute {name}.") from exc
        if binary is None and _string(value, "StringValue") is None:
            raise SqsInvalidParameterError(
                f"The message attribute '{name}' must contain non-empty message attribute value."
            )
        attributes[str(name)] = MessageAttribute(
            data_type=data_type, string_value=value.get("StringValue"), binary_value=decoded
        )
    return attributes


def _render_attributes(attributes: Mapping[str, MessageAttribute]) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    for name, a in attributes.items():
        value: dict[str, Any] = {"DataType": a.data_type}
        if a.binary_value is not None:
            value["BinaryValue"] = base64.b64encode(a.binary_value).decode()
        else:
            value["StringValue"] = a.string_value
        rendered[name] = value
    return rendered


def _entries(params: Params) -> Sequence[Params]:
    entries = params.get("Entries") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise _invalid("Entries")
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


def _send_request(params: Params) -> SendRequest:
    body = _string(params, "MessageBody")
    if body is None or body == "":
        raise SqsMissingParameterError("The request must contain the parameter MessageBody.")
    return SendRequest(
        body=str(body),
        delay_s=_int(params, "DelaySeconds"),
        attributes=_message_attributes(params.get("MessageAttributes")),
    )


def _sent(message: Any) -> dict[str, Any]:
    out = {"MessageId": message.message_id, "MD5OfMessageBody": message.md5_of_body}
    if message.md5_of_attributes:
        out["MD5OfMessageAttributes"] = message.md5_of_attributes
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
        *_strings(params, "AttributeNames"),
        *_strings(params, "MessageSystemAttributeNames"),
    ]
    system = {k: v for k, v in message.system_attributes.items() if _wanted(system_names, k)}
    if system:
        out["Attributes"] = system
    names = _strings(params, "MessageAttributeNames")
    chosen = {k: v for k, v in message.attributes.items() if _wanted(names, k)}
    if chosen:
        out["MessageAttributes"] = _render_attributes(chosen)
        out["MD5OfMessageAttributes"] = md5_of_attributes(chosen)
    return out


# --- operations ----------------------------------------------------------------------------


async def create_queue(service: QueueService, params: Params) -> dict[str, Any]:
    name = _string(params, "QueueName")
    if not name:
        raise SqsMissingParameterError("The request must contain the parameter QueueName.")
    attributes = _string_map(params, "Attributes")
    url = await service.create_queue(name, attributes, _string_map(params, "tags"))
    return {"QueueUrl": url}


async def get_queue_url(service: QueueService, params: Params) -> dict[str, Any]:
    return {"QueueUrl": service.get_queue_url(_string(params, "QueueName") or "")}


async def list_queues(service: QueueService, params: Params) -> dict[str, Any]:
    max_results = _int(params, "MaxResults")
    if max_results is not None and not 1 <= max_results <= 1000:
        raise SqsInvalidParameterError("MaxResults must be between 1 and 1000.")
    urls, token = service.list_queues(
        _string(params, "QueueNamePrefix") or "",
        max_results=max_results,
        next_token=_string(params, "NextToken"),
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
    names = _strings(params, "AttributeNames")
    attributes = service.get_attributes(_queue(service, params), names)
    return {"Attributes": attributes} if attributes else {}


async def set_queue_attributes(service: QueueService, params: Params) -> dict[str, Any]:
    attributes = _string_map(params, "Attributes")
    await service.set_attributes(_queue(service, params), attributes)
    return {}


async def send_message(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    sent = await service.send(name, [_send_request(params)])
    return _sent(sent[0])


async def send_message_batch(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    entries = _entries(params)
    requests, ids, failed = [], [], []
    for entry in entries:
        try:
            requests.append(_send_request(entry))
            ids.append(str(entry["Id"]))
        except SqsInvalidParameterError as exc:
            failed.append(
                _failed(str(entry["Id"]), BatchFailure(code=exc.error_type, message=exc.message))
            )
    sent = await service.send(name, requests) if requests else []
    return {
        "Successful": [{"Id": i, **_sent(m)} for i, m in zip(ids, sent, strict=True)],
        "Failed": failed,
    }


async def receive_message(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    for names in ("AttributeNames", "MessageSystemAttributeNames", "MessageAttributeNames"):
        _strings(params, names)  # checked before a message is taken, not only if one is
    messages = await service.receive(
        name,
        max_messages=_int(params, "MaxNumberOfMessages") or 1,
        visibility_timeout=_int(params, "VisibilityTimeout"),
        wait_s=_int(params, "WaitTimeSeconds"),
    )
    return {"Messages": [_message(m, params) for m in messages]} if messages else {}


async def delete_message(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    [failure] = await service.delete(name, [_string(params, "ReceiptHandle") or ""])
    if failure is not None:
        raise ReceiptHandleIsInvalidError(failure.message)
    return {}


async def delete_message_batch(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    entries = _entries(params)
    results = await service.delete(name, [_string(e, "ReceiptHandle") or "" for e in entries])
    return _batch_result(entries, results)


async def change_message_visibility(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    timeout = _int(params, "VisibilityTimeout")
    if timeout is None:
        raise SqsMissingParameterError("The request must contain the parameter VisibilityTimeout.")
    [failure] = await service.change_visibility(
        name, [(_string(params, "ReceiptHandle") or "", timeout)]
    )
    if failure is not None:
        raise _error_of(failure)
    return {}


async def change_message_visibility_batch(service: QueueService, params: Params) -> dict[str, Any]:
    name = _queue(service, params)
    entries = _entries(params)
    results = await service.change_visibility(
        name,
        [(_string(e, "ReceiptHandle") or "", _int(e, "VisibilityTimeout") or 0) for e in entries],
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


async def call(queues: QueueService, operation: str, params: Params) -> dict[str, Any]:
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise InvalidActionError(
            f"The action {operation} is not valid for this endpoint (not implemented by Nimbus)."
        )
    return await handler(queues, params)
