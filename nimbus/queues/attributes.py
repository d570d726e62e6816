"""Queue attributes and message checksums: pure rules, as SQS documents them."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping

import orjson

from nimbus.errors import InvalidAttributeNameError, InvalidAttributeValueError
from nimbus.model.queue import MessageAttribute

DEFAULTS: Mapping[str, str] = {
    "DelaySeconds": "0",
    "MaximumMessageSize": "262144",
    "MessageRetentionPeriod": "345600",
    "ReceiveMessageWaitTimeSeconds": "0",
    "VisibilityTimeout": "30",
    "SqsManagedSseEnabled": "true",
}
# name -> (min, max) for the integer attributes
RANGES: Mapping[str, tuple[int, int]] = {
    "DelaySeconds": (0, 900),
    "MaximumMessageSize": (1024, 1_048_576),
    "MessageRetentionPeriod": (60, 1_209_600),
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43_200),
}
SETTABLE = {
    *RANGES,
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "Policy",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
}
READ_ONLY = {
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
    "QueueArn",
}
MAX_RECEIVE_COUNT = 1000


def validate(attributes: Mapping[str, str]) -> dict[str, str]:
    """Checked settable attributes (values as SQS's wire carries them: strings)."""
    checked: dict[str, str] = {}
    for name, raw in attributes.items():
        value = str(raw)
        if name in (
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
        ):
            if name == "FifoQueue" and value.lower() == "false":
                continue
            raise InvalidAttributeNameError(
                f"Unsupported attribute {name}: Nimbus's built-in queues are standard queues; "
                "FIFO queues are not implemented yet."
            )
        if name not in SETTABLE:
            raise InvalidAttributeNameError(f"Unknown Attribute {name}.")
        if name in RANGES:
            low, high = RANGES[name]
            if not value.lstrip("-").isdigit() or not low <= int(value) <= high:
                raise InvalidAttributeValueError(
                    f"Invalid value for the parameter {name}: must be between {low} and {high}."
                )
            value = str(int(value))
        if name == "RedrivePolicy" and value:
            redrive_policy(value)
        checked[name] = value
    return checked


def redrive_policy(value: str) -> tuple[str, int]:
    """(dead-letter queue ARN, maxReceiveCount) of a RedrivePolicy JSON document."""
    try:
        policy = orjson.loads(value)
        arn = str(policy["deadLetterTargetArn"])
        count = int(policy["maxReceiveCount"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InvalidAttributeValueError(
            "Value for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a "
            "valid JSON map with deadLetterTargetArn and maxReceiveCount."
        ) from exc
    if not arn.startswith("arn:") or ":sqs:" not in arn:
        raise InvalidAttributeValueError(
            "Value for parameter RedrivePolicy is invalid. Reason: Invalid value for "
            "deadLetterTargetArn."
        )
    if not 1 <= count <= MAX_RECEIVE_COUNT:
        raise InvalidAttributeValueError(
            "Value for parameter RedrivePolicy is invalid. Reason: Invalid value for "
            f"maxReceiveCount: {count}, valid values are from 1 to {MAX_RECEIVE_COUNT} both "
            "inclusive."
        )
    return arn, count


def md5_of_body(body: str) -> str:
    return hashlib.md5(body.encode()).hexdigest()


def md5_of_attributes(attributes: Mapping[str, MessageAttribute]) -> str | None:
    """SQS's MD5OfMessageAttributes: names sorted; each as length-prefixed name, data type,
    a transport byte (1 string, 2 binary) and length-prefixed value."""
    if not attributes:
        return None
    digest = hashlib.md5()
    for name in sorted(attributes):
        attribute = attributes[name]
        for part in (name.encode(), attribute.data_type.encode()):
            digest.update(struct.pack("!I", len(part)) + part)
        if attribute.binary_value is not None and attribute.data_type.startswith("Binary"):
            digest.update(b"\x02" + struct.pack("!I", len(attribute.binary_value)))
            digest.update(attribute.binary_value)
        else:
            value = (attribute.string_value or "").encode()
            digest.update(b"\x01" + struct.pack("!I", len(value)) + value)
    return digest.hexdigest()
