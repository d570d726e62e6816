"""Lambda's event filtering for SQS mappings: FilterCriteria checked as AWS checks it, the
record as patterns see it, and a poller (over an in-memory queue, a fake invoker and a
manual clock) that deletes what no filter admits and never invokes with an empty batch."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from nimbus.errors import InvalidParameterValueError, ValidationError
from nimbus.events.record_filter import (
    check_filters,
    compile_filters,
    keeps_sqs_record,
    sqs_view,
)
from nimbus.events.sqs_poller import MappingPoller, PollerTuning
from nimbus.model.event_source_mapping import EventSourceMapping, MappingSettings
from nimbus.testing.clock import ManualClock
from nimbus.testing.invoker import FakeInvoker
from nimbus.testing.queue import FakeQueue

ORDERS = json.dumps({"body": {"kind": ["order"]}})
PINGS = json.dumps({"body": ["ping"]})


def record(body: str, **extra: Any) -> dict[str, Any]:
    return {"messageId": "m-1", "body": body, "attributes": {}, "eventSource": "aws:sqs", **extra}


# --- checks ------------------------------------------------------------------------------


def test_valid_filters_are_kept_as_given() -> None:
    assert check_filters([ORDERS, PINGS]) == (ORDERS, PINGS)
    assert check_filters([]) == ()


def test_an_invalid_pattern_is_lambdas_error_with_the_reason() -> None:
    with pytest.raises(InvalidParameterValueError) as caught:
        check_filters([ORDERS, '{"body": {"kind": "order"}}'])
    message = caught.value.message
    assert message.startswith("Invalid filter pattern definition. Reason: ")
    assert '"kind" must be an object or an array' in message
    for bad in ("", "{", "[1]", "{}", '{"body": [{"regex": "x"}]}'):
        with pytest.raises(InvalidParameterValueError, match="Invalid filter pattern definition"):
            check_filters([bad])


def test_at_most_five_filters_of_at_most_4096_characters() -> None:
    check_filters([PINGS] * 5)
    with pytest.raises(InvalidParameterValueError, match="at most 5"):
        check_filters([PINGS] * 6)
    long = json.dumps({"body": ["x" * 4100]})
    with pytest.raises(ValidationError) as caught:
        check_filters([PINGS, long])
    assert "'filterCriteria.filters.2.member.pattern'" in caught.value.message
    assert "less than or equal to 4096" in caught.value.message


# --- the record as patterns see it -------------------------------------------------------


def test_a_json_object_body_is_decoded_and_other_bodies_stay_strings() -> None:
    assert sqs_view(record('{"kind": "order"}'))["body"] == {"kind": "order"}
    for body in ("ping", "[1, 2]", "5", '"quoted"', "{not json", ""):
        assert sqs_view(record(body))["body"] == body


@pytest.mark.parametrize(
    ("patterns", "body", "kept"),
    [
        ([], "anything", True),  # no filters: everything goes to the function
        ([ORDERS], '{"kind": "order", "id": 7}', True),
        ([ORDERS], '{"kind": "refund"}', False),
        ([ORDERS], "order", False),  # a plain string has no fields
        ([PINGS], "ping", True),
        ([PINGS], '{"kind": "order"}', False),  # an object is not the string
        ([ORDERS, PINGS], "ping", True),  # filters are ORed
        ([ORDERS, PINGS], '{"kind": "order"}', True),
        ([ORDERS, PINGS], "pong", False),
        ([json.dumps({"body": [{"prefix": "pi"}]})], "ping", True),
        ([json.dumps({"eventSource": ["aws:sqs"]})], "anything", True),  # metadata too
        ([json.dumps({"body": {"n": [{"numeric": [">", 5]}]}})], '{"n": 6}', True),
        ([json.dumps({"body": {"n": [{"numeric": [">", 5]}]}})], '{"n": "6"}', False),
    ],
)
def test_which_records_go_to_the_function(patterns: list[str], body: str, kept: bool) -> None:
    assert keeps_sqs_record(compile_filters(patterns), record(body)) is kept


def test_a_stored_filter_that_no_longer_parses_admits_every_record() -> None:
    # The filters are ORed: any record might have matched the one that cannot be read, and
    # a refused SQS message is deleted, so none is refused.
    compiled = compile_filters(['{"body": {"kind": "order"}}', PINGS])
    assert compiled.unreadable == ('{"body": {"kind": "order"}}',)
    assert keeps_sqs_record(compiled, record("ping"))
    assert keeps_sqs_record(compiled, record("pong"))
    assert keeps_sqs_record(compiled, record('{"kind": "refund"}'))


def test_a_pattern_nested_past_the_bound_is_refused_at_create_not_at_match() -> None:
    deep = '{"":' * 810 + '["x"]' + "}" * 810  # 4,055 characters: the Pattern shape allows it
    with pytest.raises(InvalidParameterValueError, match="levels deep"):
        check_filters([deep])
    # Stored by an older Nimbus: it cannot be evaluated, so it refuses nothing.
    assert keeps_sqs_record(compile_filters([deep]), record("anything"))


# --- the poller --------------------------------------------------------------------------


def poller(queue: FakeQueue, invoker: FakeInvoker, patterns: list[str]) -> MappingPoller:
    mapping = EventSourceMapping(
        uuid="u-1",
        source_arn=queue.queue_arn,
        last_modified=0.0,
        settings=MappingSettings(function_name="f", batch_size=10, filter_patterns=tuple(patterns)),
    )
    return MappingPoller(
        mapping,
        queue=queue.name,
        queues=queue,
        invoker=invoker,
        clock=ManualClock(),
        region="us-east-1",
        tuning=PollerTuning(),
    )


async def test_refused_messages_are_deleted_and_only_admitted_ones_are_invoked() -> None:
    queue, invoker = FakeQueue(), FakeInvoker()
    order = queue.send('{"kind": "order"}')
    refund = queue.send('{"kind": "refund"}')
    ping = queue.send("ping")
    pong = queue.send("pong")
    esm = poller(queue, invoker, [ORDERS, PINGS])

    batch = await esm.collect([])
    assert [item.message.message_id for item in batch] == [order, ping]
    assert queue.deleted == [refund, pong]  # deleted at once, never delivered
    assert esm.filtered_out == 2

    assert await esm.deliver(batch) == "partial"
    [call] = invoker.calls
    records = orjson.loads(call.payload)["Records"]
    # The function gets the record as it is: the body is still the string that was sent.
    assert [r["body"] for r in records] == ['{"kind": "order"}', "ping"]
    assert sorted(queue.deleted) == sorted([order, refund, ping, pong])
    assert not queue.visible and not queue.in_flight


async def test_a_batch_left_empty_by_the_filters_invokes_nothing() -> None:
    queue, invoker = FakeQueue(), FakeInvoker()
    for body in ("pong", '{"kind": "refund"}', "{broken"):
        queue.send(body)
    esm = poller(queue, invoker, [ORDERS, PINGS])
    assert await esm.collect([]) == []
    assert invoker.calls == []
    assert len(queue.deleted) == 3 and not queue.in_flight


async def test_without_filters_nothing_is_refused() -> None:
    queue, invoker = FakeQueue(), FakeInvoker()
    for body in ("a", "b"):
        queue.send(body)
    esm = poller(queue, invoker, [])
    assert [item.message.body for item in await esm.collect([])] == ["a", "b"]
    assert queue.deleted == [] and esm.filtered_out == 0


async def test_a_filter_that_cannot_be_evaluated_deletes_no_message() -> None:
    queue, invoker = FakeQueue(), FakeInvoker()
    pong = queue.send("pong")
    esm = poller(queue, invoker, [PINGS, '{"body": {"kind": "order"}}'])
    assert [item.message.message_id for item in await esm.collect([])] == [pong]
    assert queue.deleted == [] and esm.filtered_out == 0
