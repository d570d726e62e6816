"""EventBridge's operations as the gate authorizes them: ``events:<Op>`` on the rule's or
bus's canonical ARN, and what PutTargets and PutEvents imply."""

from __future__ import annotations

from typing import Any

import pytest

from nimbus.frontend.auth_gate import protocol_of
from nimbus.frontend.eventbridge_wire import Members, bus_member
from nimbus.frontend.implied_access import implied_checks
from nimbus.frontend.operations import ANY, OperationRequest, resolve
from nimbus.model.arn import Arns

ARNS = Arns(region="us-east-1", account="000000000000")
BASE = "arn:aws:events:us-east-1:000000000000"


def op(name: str, params: dict[str, Any]) -> tuple[str | None, str]:
    resolved = resolve(
        OperationRequest(method="POST", path="/", target=f"AWSEvents.{name}", params=params), ARNS
    )
    assert resolved.service == "events"
    return resolved.action, resolved.resource


@pytest.mark.parametrize(
    ("name", "params", "resource"),
    [
        ("PutRule", {"Name": "r"}, f"{BASE}:rule/r"),
        ("DescribeRule", {"Name": "r", "EventBusName": "orders"}, f"{BASE}:rule/orders/r"),
        # A bus by ARN is this account's bus of that name, whatever else the ARN says.
        (
            "DeleteRule",
            {"Name": "r", "EventBusName": "arn:aws:events:eu-west-1:111111111111:event-bus/b"},
            f"{BASE}:rule/b/r",
        ),
        ("PutTargets", {"Rule": "r", "Targets": []}, f"{BASE}:rule/r"),
        ("ListTargetsByRule", {"Rule": "r", "EventBusName": "default"}, f"{BASE}:rule/r"),
        ("CreateEventBus", {"Name": "orders"}, f"{BASE}:event-bus/orders"),
        ("DescribeEventBus", {}, f"{BASE}:event-bus/default"),
        ("PutEvents", {"Entries": [{"EventBusName": "orders"}, {}]}, f"{BASE}:event-bus/orders"),
        ("PutEvents", {"Entries": [{}]}, f"{BASE}:event-bus/default"),
        ("ListRules", {"EventBusName": "orders"}, ANY),
        ("ListEventBuses", {}, ANY),
        # Names no rule can have name none.
        ("DescribeRule", {"Name": "a/b"}, ANY),
        ("DescribeRule", {"Name": 5}, ANY),
    ],
)
def test_each_operation_s_action_and_resource(
    name: str, params: dict[str, Any], resource: str
) -> None:
    assert op(name, params) == (f"events:{name}", resource)


def test_an_operation_eventbridge_lacks_has_no_action() -> None:
    assert op("TestEventPattern", {}) == (None, ANY)


def test_targets_and_other_buses_are_the_caller_s_to_allow() -> None:
    queue = "arn:aws:sqs:us-east-1:000000000000:q"
    dlq = "arn:aws:sqs:us-east-1:000000000000:dlq"
    topic = "arn:aws:sns:us-east-1:000000000000:t"
    params: dict[str, Any] = {
        "Rule": "r",
        "Targets": [
            {"Id": "a", "Arn": queue, "DeadLetterConfig": {"Arn": dlq}},
            {"Id": "b", "Arn": topic},
            {"Id": "c", "Arn": "arn:aws:lambda:us-east-1:000000000000:function:f"},  # its policy
        ],
    }
    operation = resolve(
        OperationRequest(method="POST", path="/", target="AWSEvents.PutTargets", params=params),
        ARNS,
    )
    assert [(c.action, c.resource) for c in implied_checks(operation, params)] == [
        ("sqs:SendMessage", queue),
        ("sqs:SendMessage", dlq),
        ("sns:Publish", topic),
    ]
    entries = {"Entries": [{}, {"EventBusName": "orders"}, {"EventBusName": "default"}]}
    put_events = resolve(
        OperationRequest(method="POST", path="/", target="AWSEvents.PutEvents", params=entries),
        ARNS,
    )
    assert [(c.action, c.resource) for c in implied_checks(put_events, entries)] == [
        ("events:PutEvents", f"{BASE}:event-bus/orders")
    ]


def test_errors_of_eventbridge_requests_are_json_1_1() -> None:
    assert protocol_of("POST", "/", [(b"x-amz-target", b"AWSEvents.PutRule")]) == "json-1.1"
    assert protocol_of("POST", "/", [(b"x-amz-target", b"AmazonSQS.SendMessage")]) == "sqs-json"
    assert protocol_of("POST", "/", []) == "query"


@pytest.mark.parametrize(
    "bus",
    [
        "orders",
        "a/b",  # the wire's pattern takes "/" (partner buses): so must the gate
        "aws.partner/saas.com/123/x",
        "x" * 300,  # longer than a name, in an ARN (1600 in all)
        "a b",
        "a:b",
        "é",
        "a\nb",
    ],
)
def test_the_gate_names_every_bus_the_wire_accepts(bus: str) -> None:
    """Whatever bus the handler would act on, the gate authorized on that bus's ARN, never
    on ``*`` (where no Deny on a bus or rule applies)."""
    for value in (bus, f"{BASE}:event-bus/{bus}"):
        members = Members({"Name": "r", "EventBusName": value})
        bus_member(members)
        accepted = not members.errors
        _, resource = op("DescribeRule", {"Name": "r", "EventBusName": value})
        assert (resource != ANY) == accepted, value
        if accepted:
            assert resource == f"{BASE}:rule/{bus}/r"
            _, bus_resource = op("DescribeEventBus", {"Name": value})
            assert bus_resource == f"{BASE}:event-bus/{bus}"
