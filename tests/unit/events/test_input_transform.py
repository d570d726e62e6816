"""What a target is sent for an event: Input, InputPath, InputTransformer — the cases of
LocalStack's AWS-validated ``test_events_inputs`` snapshots, as literals."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from nimbus.events.input_transform import TransformFailed, fill, placeholders, target_input
from nimbus.events.json_path import MISSING, InvalidJsonPath, parse_path, select
from nimbus.model.eventbridge import InputTransformer, Target

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "e-1",
    "detail-type": "core.update-account-command",
    "source": "core.update-account-command",
    "account": "000000000000",
    "time": "2024-05-01T10:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "command": "update-account",
        "payload": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
        "listsingle": ["HIGH"],
        "listmulti": ["ACTIVE", "INACTIVE"],
        "valid": True,
    },
}
PATHS = {
    "userId": "$.detail.payload.acc_id",
    "payload": "$.detail.payload",
    "systemstring": "$.detail.awsAccountId",  # selects nothing
    "listsingle": "$.detail.listsingle",
    "listmulti": "$.detail.listmulti",
    "valid": "$.detail.valid",
    "detail-type": "$.detail-type",
}
RULE = "arn:aws:events:us-east-1:000000000000:rule/bus/r"


def sent(**target: Any) -> str | None:
    return target_input(
        Target(id="t", arn="arn:aws:sqs:us-east-1:000000000000:q", **target),
        EVENT,
        rule_arn=RULE,
        rule_name="r",
        ingestion_time="2024-05-01T10:00:01Z",
    )


def transformed(template: str, paths: dict[str, str] = PATHS) -> str | None:
    return sent(input_transformer=InputTransformer(template=template, paths=paths))


def test_without_input_the_whole_event_is_sent() -> None:
    body = sent()
    assert body is not None and orjson.loads(body) == EVENT


def test_input_is_sent_verbatim() -> None:
    assert sent(input='{"fixed": [1, 2]}') == '{"fixed": [1, 2]}'


def test_input_path_sends_the_json_of_what_it_selects() -> None:
    assert orjson.loads(sent(input_path="$.detail.payload") or "") == {
        "acc_id": "0a787ecb-4015",
        "sf_id": "baz",
    }
    assert sent(input_path="$.detail.payload.sf_id") == '"baz"'  # a string keeps its quotes
    assert sent(input_path="$.detail.listmulti[1]") == '"INACTIVE"'
    assert sent(input_path="$.detail.nothing") is None


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            '{"method": "PUT", "path": "users-service/users/<userId>", "bod": <payload>}',
            {
                "method": "PUT",
                "path": "users-service/users/0a787ecb-4015",
                "bod": {"acc_id": "0a787ecb-4015", "sf_id": "baz"},
            },
        ),
        ('{"id" : <userId>}', {"id": "0a787ecb-4015"}),
        ('{"id" : "<userId>"}', {"id": "0a787ecb-4015"}),
        ('{"bod": [<userId>, "hardcoded"]}', {"bod": ["0a787ecb-4015", "hardcoded"]}),
        ('{"singlelistitem": <listsingle>}', {"singlelistitem": ["HIGH"]}),
        (
            '{"multi_replacement": "users/<userId>/second/<userId>"}',
            {"multi_replacement": "users/0a787ecb-4015/second/0a787ecb-4015"},
        ),
        ('{"command": <systemstring>}', {"command": ""}),  # nothing selected: ""
    ],
)
def test_json_templates(template: str, expected: dict[str, Any]) -> None:
    assert orjson.loads(transformed(template) or "") == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            '"Payload of <payload> with path users-service/users/<userId> and <userId>"',
            '"Payload of {acc_id:0a787ecb-4015,sf_id:baz} with path users-service/users/'
            '0a787ecb-4015 and 0a787ecb-4015"',
        ),
        ('"<listsingle> single list item"', '"[HIGH] single list item"'),
        ('"<listmulti> multiple list items"', '"[ACTIVE,INACTIVE] multiple list items"'),
        ('"<systemstring> system account id"', '" system account id"'),
        ('"Command is <valid>!"', '"Command is true!"'),
        (
            '"{[/Check with special starting characters for event of <detail-type> type"',
            '"{[/Check with special starting characters for event of '
            'core.update-account-command type"',
        ),
        # Several quoted lines are sent as they are, though together they are not JSON.
        ('"<listsingle> a"\n"<userId> b"', '"[HIGH] a"\n"0a787ecb-4015 b"'),
    ],
)
def test_string_templates_are_sent_as_text_quotes_included(template: str, expected: str) -> None:
    assert transformed(template) == expected


@pytest.mark.parametrize(
    "template",
    [
        '{"not_valid": "users-service/users/<payload>", "bod": <payload>}',
        '{"payload": "<payload>"}',
        '{"singlelistitem": "<listsingle>"}',
    ],
)
def test_an_object_inside_a_string_of_a_json_template_is_not_delivered(template: str) -> None:
    with pytest.raises(TransformFailed):
        transformed(template)


def test_predefined_variables() -> None:
    text = transformed(
        '"<aws.events.rule-arn> <aws.events.rule-name> <aws.events.event.ingestion-time>"', {}
    )
    assert text == f'"{RULE} r 2024-05-01T10:00:01Z"'
    body = orjson.loads(
        transformed('{"originalEvent": <aws.events.event>, "json": <aws.events.event.json>}', {})
        or ""
    )
    assert body["json"] == EVENT
    assert "detail" not in body["originalEvent"]
    assert body["originalEvent"]["detailType"] == EVENT["detail-type"]
    assert body["originalEvent"]["id"] == "e-1"


def test_a_string_value_with_quotes_stays_inside_its_string() -> None:
    assert orjson.loads(fill('{"say": "he said <q>"}', {"q": 'a "b"'})) == {"say": 'he said a "b"'}


def test_placeholders_are_listed_in_order() -> None:
    assert placeholders('"<a> and <b.c> and <a>"') == ["a", "b.c", "a"]


def test_json_paths() -> None:
    assert parse_path("$").steps == ()
    assert parse_path("$.detail['detail-type'][0].id").steps == ("detail", "detail-type", 0, "id")
    assert select(parse_path("$.a[5]"), {"a": [1]}) is MISSING
    assert select(parse_path("$.a.b"), {"a": "text"}) is MISSING
    for bad in ("detail", "$.", "$..a", "$[a]", "$.a b"):
        with pytest.raises(InvalidJsonPath):
            parse_path(bad)
